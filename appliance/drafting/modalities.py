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


def _scale(name: str, which: str) -> Extractor:
    """SUD/VOC start or end: "SUD went from 7 to 2", "SUD of 7 ... dropped to 2"."""
    span = re.compile(rf"\b{name}\b[^.]*?\b(\d+)\b(?:[^.]*?\bto\s+(\d+)\b)?", re.IGNORECASE)

    def extract(sentences: list[Sentence]) -> list[FieldValue]:
        for sentence in sentences:
            match = span.search(sentence.text)
            if match:
                value = match.group(1) if which == "start" else match.group(2)
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
        "phase": _sentences_with(r"\bphase\s+(?:[1-8]|one|two|three|four|five|six|seven|eight)\b"),
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
