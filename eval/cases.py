"""The evaluation set: tests/fixtures/eval/cases.json and the scripts and audio beside it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.drafting.modalities import DONE

CASES_DIR = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "eval"
CASES_FILE = CASES_DIR / "cases.json"
# Written once and never tuned on (its cases.json says the rules): scored and reported apart.
HELDOUT_FILE = CASES_DIR / "heldout" / "cases.json"
SETS = {"dev": CASES_FILE, "heldout": HELDOUT_FILE}


@dataclass(frozen=True)
class ExpectedSentence:
    sentence: str
    section: str


@dataclass(frozen=True)
class ExpectedValue:
    """One hand-labelled value of a modality field, as a correct draft holds it.

    value: what the script says ("7", "I am powerless", "thought record", "done"); status:
    DONE, or NOT_DONE where the script negates the field; previous: an earlier value said with
    it ("47, down from 52" is 47 with previous 52).
    """

    value: str
    status: str = DONE
    previous: str | None = None


def expected_value(raw: str | Mapping[str, Any]) -> ExpectedValue:
    """A label as cases.json writes it: a string, or {"value", "status", "previous"}."""
    if isinstance(raw, str):
        return ExpectedValue(raw)
    previous = raw.get("previous")
    return ExpectedValue(
        value=str(raw.get("value", "")),
        status=str(raw.get("status", DONE)),
        previous=None if previous is None else str(previous),
    )


@dataclass(frozen=True)
class Case:
    id: str
    modality: str
    note_format: str
    script_path: Path
    audio_path: Path
    duration_seconds: float
    risk_addressed: bool
    facts: tuple[str, ...]
    must_not_appear: tuple[str, ...]
    expected: tuple[ExpectedSentence, ...]
    # Every field of the modality: its labelled values, () where the script does not mention it.
    expected_fields: dict[str, tuple[ExpectedValue, ...]] = field(default_factory=dict)

    @property
    def script(self) -> str:
        return self.script_path.read_text(encoding="utf-8")


def case_from(item: Mapping[str, Any], folder: Path) -> Case:
    """One case of a cases.json in `folder`. A probe set's case (eval.probes) has no audio and
    no facts: its audio path is the script's own (never opened) and its facts empty; the
    evaluation sets' cases are checked for every key by eval.validate."""
    return Case(
        id=item["id"],
        modality=item["modality"],
        note_format=item["note_format"],
        script_path=folder / item["script"],
        audio_path=folder / item.get("audio", item["script"]),
        duration_seconds=float(item.get("duration_seconds", 0.0)),
        risk_addressed=bool(item["risk_addressed"]),
        facts=tuple(item.get("facts", ())),
        must_not_appear=tuple(item.get("must_not_appear", ())),
        expected=tuple(
            ExpectedSentence(e["sentence"], e["section"]) for e in item["expected_sections"]
        ),
        expected_fields={
            str(name): tuple(expected_value(v) for v in values)
            for name, values in item.get("expected_fields", {}).items()
        },
    )


def load_cases(path: Path = CASES_FILE) -> list[Case]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [case_from(item, path.parent) for item in data["cases"]]
