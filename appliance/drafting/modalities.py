"""Modality fields: the structured facts each modality records, found only where they are said.

Each field is filled from the dictation by explicit patterns, with the sentence it came from;
a field the dictation does not mention stays empty. Nothing is guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from appliance.drafting.segment import Sentence


@dataclass(frozen=True)
class FieldValue:
    value: str
    sentence: int  # provenance: index of the sentence it was read from


Extractor = Callable[[list[Sentence]], list[FieldValue]]


def _terms(*terms: str) -> Extractor:
    """Every listed term the dictation mentions, once, with the first sentence naming it."""
    patterns = [(t, re.compile(rf"\b{re.escape(t)}\b", re.IGNORECASE)) for t in terms]

    def extract(sentences: list[Sentence]) -> list[FieldValue]:
        found: list[FieldValue] = []
        for term, pattern in patterns:
            for sentence in sentences:
                if pattern.search(sentence.text):
                    found.append(FieldValue(term, sentence.index))
                    break
        return found

    return extract


def _sentences_with(pattern: str) -> Extractor:
    compiled = re.compile(pattern, re.IGNORECASE)

    def extract(sentences: list[Sentence]) -> list[FieldValue]:
        return [FieldValue(s.text, s.index) for s in sentences if compiled.search(s.text)]

    return extract


# A number standing alone ("7", not "7th" or "x7"), and the number after a "to".
_NUMBER = re.compile(r"\b(\d+)\b")
_TO_NUMBER = re.compile(r"\bto\s++(\d+)\b", re.IGNORECASE)


def _scale(name: str, which: str) -> Extractor:
    """SUD/VOC start or end: "SUD went from 7 to 2", "SUD of 7 ... dropped to 2": the first
    number after the first mention that has one before the next full stop, and the number of
    the first "to N" after it, again before that full stop."""
    mention = re.compile(rf"\b{name}\b", re.IGNORECASE)

    def values(text: str) -> tuple[str, str | None] | None:
        # This was one pattern, "\bSUD\b[^.]*?\b(\d+)\b(?:[^.]*?\bto\s+(\d+)\b)?", which
        # rescanned the rest of the stretch without a full stop from every mention: "SUD "
        # 12,500 times (50,000 characters) took 16 s. The same values, each character read
        # about once: when a stretch has no number after one mention, it has none after any
        # later mention in it either, so the search goes on after its full stop.
        at = 0
        while (found := mention.search(text, at)) is not None:
            stop = text.find(".", found.end())
            stop = len(text) if stop == -1 else stop
            first = _NUMBER.search(text, found.end(), stop)
            if first is not None:
                to = _TO_NUMBER.search(text, first.end(), stop)
                return first.group(1), None if to is None else to.group(1)
            at = stop + 1
        return None

    def extract(sentences: list[Sentence]) -> list[FieldValue]:
        for sentence in sentences:
            found = values(sentence.text)
            if found is not None:
                value = found[0] if which == "start" else found[1]
                return [FieldValue(value, sentence.index)] if value else []
        return []

    return extract


FIELDS: dict[str, dict[str, Extractor]] = {
    "cbt": {
        "cognitive_distortions": _terms(
            "catastrophizing",
            "all-or-nothing",
            "black-and-white",
            "mind reading",
            "fortune telling",
            "overgeneralization",
            "personalization",
            "should statements",
            "emotional reasoning",
            "labeling",
            "discounting the positive",
            "magnification",
        ),
        "interventions": _terms(
            "thought record",
            "cognitive restructuring",
            "behavioral activation",
            "exposure",
            "Socratic questioning",
            "behavioral experiment",
            "psychoeducation",
            "activity scheduling",
        ),
        "homework": _sentences_with(r"\bhomework\b|\bassigned\b|\bbetween sessions\b"),
    },
    "dbt": {
        "diary_card_targets": _sentences_with(r"diary card"),
        "skills_used": _terms(
            "DEAR MAN",
            "GIVE",
            "FAST",
            "TIPP",
            "opposite action",
            "radical acceptance",
            "check the facts",
            "wise mind",
            "self-soothe",
            "distract",
            "ACCEPTS",
            "STOP",
            "mindfulness",
            "distress tolerance",
            "emotion regulation",
        ),
        "chain_analysis": _sentences_with(r"chain analysis"),
    },
    "act": {
        "hexaflex_processes": _terms(
            "defusion",
            "acceptance",
            "present moment",
            "self-as-context",
            "values",
            "committed action",
        ),
        "values": _sentences_with(r"\bvalue[sd]?\b"),
        "committed_action": _sentences_with(r"committed action|commit(?:ted)? to"),
    },
    "emdr": {
        # "\s++" (possessive): no phase number starts with a blank, so none is given back.
        "phase": _sentences_with(r"\bphase\s++(?:[1-8]|one|two|three|four|five|six|seven|eight)\b"),
        "target": _sentences_with(r"\btarget(?:ed)?\b"),
        "negative_cognition": _sentences_with(r"negative cognition"),
        "positive_cognition": _sentences_with(r"positive cognition"),
        "sud_start": _scale("SUD", "start"),
        "sud_end": _scale("SUD", "end"),
        "voc_start": _scale("VOC", "start"),
        "voc_end": _scale("VOC", "end"),
    },
    "ifs": {
        "parts": _terms("protector", "manager", "firefighter", "exile"),
        "self_energy": _sentences_with(r"self[- ]energy|\bSelf\b"),
        "unblending": _sentences_with(r"unblend"),
        "unburdening": _sentences_with(r"unburden"),
    },
    "psychodynamic": {
        "themes": _sentences_with(r"\btheme\b|\bpattern\b"),
        "defenses": _terms(
            "denial",
            "projection",
            "intellectualization",
            "rationalization",
            "displacement",
            "splitting",
            "repression",
            "reaction formation",
            "sublimation",
            "humor",
        ),
        "transference": _sentences_with(r"\btransference\b"),
        "countertransference": _sentences_with(r"countertransference"),
    },
    "integrative": {},
}


def extract_fields(modality: str, sentences: list[Sentence]) -> dict[str, list[FieldValue]]:
    return {name: extract(sentences) for name, extract in FIELDS[modality].items()}
