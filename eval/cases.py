"""The evaluation set: tests/fixtures/eval/cases.json and the scripts and audio beside it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CASES_DIR = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "eval"
CASES_FILE = CASES_DIR / "cases.json"


@dataclass(frozen=True)
class ExpectedSentence:
    sentence: str
    section: str


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

    @property
    def script(self) -> str:
        return self.script_path.read_text(encoding="utf-8")


def load_cases(path: Path = CASES_FILE) -> list[Case]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        Case(
            id=item["id"],
            modality=item["modality"],
            note_format=item["note_format"],
            script_path=path.parent / item["script"],
            audio_path=path.parent / item["audio"],
            duration_seconds=float(item["duration_seconds"]),
            risk_addressed=bool(item["risk_addressed"]),
            facts=tuple(item["facts"]),
            must_not_appear=tuple(item["must_not_appear"]),
            expected=tuple(
                ExpectedSentence(e["sentence"], e["section"]) for e in item["expected_sections"]
            ),
        )
        for item in data["cases"]
    ]
