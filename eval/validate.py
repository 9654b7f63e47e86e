"""What makes cases.json well-formed (used by tests/eval; each check names what is wrong)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from appliance.drafting.draft import RISK
from appliance.drafting.formats import FORMATS
from appliance.drafting.modalities import DONE, EVENT_DONE, FIELDS, NOT_DONE, PRESENT
from appliance.drafting.placement import HEADER
from appliance.drafting.segment import split_sentences
from appliance.records.dictations import MODALITIES, NOTE_FORMATS
from eval.text import contains, words
from speech_io.audio import decode

REQUIRED = {
    "id": str,
    "modality": str,
    "note_format": str,
    "script": str,
    "audio": str,
    "duration_seconds": float,
    "risk_addressed": bool,
    "facts": list,
    "must_not_appear": list,
    "expected_sections": list,
    "expected_fields": dict,
}
FACTS = (8, 15)
MUST_NOT_APPEAR = (5, 10)
DURATION_TOLERANCE = 0.10


def section_keys(note_format: str) -> set[str]:
    """A format's sections, risk (every draft has it) and the header (a dictation's preamble:
    note type, client initials, length said with them), which a draft puts first."""
    return {s.key for s in FORMATS[note_format].sections} | {RISK, HEADER}


def case_problems(case: Mapping[str, Any], folder: Path) -> list[str]:
    """Everything wrong with one case of cases.json, without touching its audio."""
    problems = []
    for key, kind in REQUIRED.items():
        value = case.get(key)
        ok = isinstance(value, int | float) if kind is float else isinstance(value, kind)
        if not ok or isinstance(value, bool) is not (kind is bool):
            problems.append(f"{key}: missing or not {kind.__name__}")
    if problems:
        return problems
    if case["modality"] not in MODALITIES:
        problems.append(f"modality {case['modality']!r} is not one of {sorted(MODALITIES)}")
    if case["note_format"] not in NOTE_FORMATS or case["note_format"] not in FORMATS:
        problems.append(f"note_format {case['note_format']!r} is not one of {sorted(FORMATS)}")
        return problems
    script_path = folder / case["script"]
    if not script_path.is_file():
        return [*problems, f"script {case['script']} does not exist"]
    script = script_path.read_text(encoding="utf-8")
    if not script.isascii():
        problems.append("the script is not plain ASCII")
    script_words = words(script)
    if not FACTS[0] <= len(case["facts"]) <= FACTS[1]:
        problems.append(f"{len(case['facts'])} facts, not {FACTS[0]}-{FACTS[1]}")
    for fact in case["facts"]:
        if not contains(script_words, fact):
            problems.append(f"fact {fact!r} is not in the script")
    if not MUST_NOT_APPEAR[0] <= len(case["must_not_appear"]) <= MUST_NOT_APPEAR[1]:
        problems.append(
            f"{len(case['must_not_appear'])} must_not_appear items, "
            f"not {MUST_NOT_APPEAR[0]}-{MUST_NOT_APPEAR[1]}"
        )
    for item in case["must_not_appear"]:
        if contains(script_words, item):
            problems.append(f"must_not_appear {item!r} is in the script")
    sentences = split_sentences(script)
    expected = case["expected_sections"]
    if len(expected) != len(sentences):
        problems.append(
            f"expected_sections has {len(expected)} entries for {len(sentences)} script sentences"
        )
    keys = section_keys(case["note_format"])
    for index, (entry, sentence) in enumerate(zip(expected, sentences, strict=False)):
        if not isinstance(entry, dict) or entry.get("sentence") != sentence.text:
            problems.append(f"expected_sections[{index}] is not script sentence {index}")
        elif entry.get("section") not in keys:
            problems.append(
                f"expected_sections[{index}]: {entry.get('section')!r} is not one of "
                f"{sorted(keys)} ({case['note_format']})"
            )
    labelled_risk = any(isinstance(e, dict) and e.get("section") == RISK for e in expected)
    if labelled_risk != case["risk_addressed"]:
        problems.append(
            f"risk_addressed is {case['risk_addressed']} but "
            f"{'a' if labelled_risk else 'no'} sentence is labelled risk"
        )
    if case["modality"] in FIELDS:
        problems += field_label_problems(case["modality"], case["expected_fields"], script_words)
    if not (folder / case["audio"]).is_file():
        problems.append(f"audio {case['audio']} does not exist")
    return problems


# Values that say a field was done rather than repeat the script's words.
_STATE_WORDS = {EVENT_DONE, PRESENT}
_LABEL_KEYS = {"value", "status", "previous"}


def field_label_problems(
    modality: str, labels: Mapping[str, Any], script_words: Sequence[str]
) -> list[str]:
    """Every field of the modality labelled, and nothing else; each value one the script says.

    A value must occur in the script (after normalisation), so a label cannot hold what the
    dictation never said; "done" and "present" are the exceptions, as the values of events.
    """
    problems = []
    names = set(FIELDS[modality])
    for name in sorted(names - set(labels)):
        problems.append(f"expected_fields lacks {name} (label [] when the script is silent)")
    for name in sorted(set(labels) - names):
        problems.append(f"expected_fields has {name}, which is not a {modality} field")
    for name, values in labels.items():
        if not isinstance(values, list):
            problems.append(f"expected_fields {name}: not a list")
            continue
        for raw in values:
            problems += _label_value_problems(name, raw, script_words)
    return problems


def _label_value_problems(name: str, raw: Any, script_words: Sequence[str]) -> list[str]:
    if isinstance(raw, str):
        raw = {"value": raw}
    if not isinstance(raw, dict) or not set(raw) <= _LABEL_KEYS:
        return [f"expected_fields {name}: {raw!r} is neither a string nor {sorted(_LABEL_KEYS)}"]
    status = raw.get("status", DONE)
    if status not in (DONE, NOT_DONE):
        return [f"expected_fields {name}: status {status!r} is not {DONE} or {NOT_DONE}"]
    problems = []
    for key in ("value", "previous"):
        said = raw.get(key)
        if said is None or said == "" or (key == "value" and said in _STATE_WORDS):
            continue
        if not isinstance(said, str) or not words(said) or not contains(script_words, said):
            problems.append(f"expected_fields {name}: {key} {said!r} is not in the script")
    if status == DONE and not raw.get("value"):
        problems.append(f"expected_fields {name}: a done value needs its value")
    return problems


def audio_problems(case: Mapping[str, Any], folder: Path) -> list[str]:
    """The audio decodes, and lasts what cases.json records (within 10%)."""
    path = folder / case["audio"]
    if not path.is_file():
        return [f"audio {case['audio']} does not exist"]
    seconds = decode(path.read_bytes(), max_seconds=30 * 60, claimed_audio=True).duration
    recorded = float(case["duration_seconds"])
    if abs(seconds - recorded) > DURATION_TOLERANCE * recorded:
        return [f"{case['audio']} lasts {seconds:.2f} s, cases.json says {recorded:.2f} s"]
    return []


def coverage_problems(cases: Sequence[Mapping[str, Any]]) -> list[str]:
    problems = []
    ids = [c.get("id") for c in cases]
    if len(set(ids)) != len(ids):
        problems.append("case ids are not unique")
    for name, wanted, present in (
        ("modality", set(MODALITIES), {c.get("modality") for c in cases}),
        ("note format", set(NOTE_FORMATS), {c.get("note_format") for c in cases}),
    ):
        missing = wanted - present
        if missing:
            problems.append(f"no case for {name} {', '.join(sorted(missing))}")
    for risk in (True, False):
        if not any(c.get("risk_addressed") is risk for c in cases):
            problems.append(f"no case with risk_addressed {risk}")
    return problems
