"""Note formats an admin defines (custom templates): section keys and cues come from the titles.

The admin names the sections and writes guidance; everything else is derived deterministically,
so the same template always drafts the same dictation the same way. A section whose title names
a built-in concept ("Assessment", "Interventions", "Homework") reuses that concept's cues;
any other section is cued by the words of its own title. The guidance goes to the model router
(appliance.drafting.router), which decides the sentences the cues cannot.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from appliance.drafting.formats import CONCEPT_CLASSES, CONCEPT_CUES, NoteFormat, Section

CUSTOM_PREFIX = "custom:"
_WORD = re.compile(r"[^\W_]+")

# Titles (after stop words are dropped) and single title words that name a built-in concept.
_CONCEPT_WORDS: dict[str, str] = {
    "subjective": "subjective",
    "objective": "objective",
    "observation": "objective",
    "observations": "objective",
    "assessment": "assessment",
    "assessments": "assessment",
    "impression": "assessment",
    "impressions": "assessment",
    "progress": "assessment",
    "plan": "plan",
    "plans": "plan",
    "planning": "plan",
    "homework": "plan",
    "data": "data",
    "behavior": "behavior",
    "behaviour": "behavior",
    "behaviors": "behavior",
    "behaviours": "behavior",
    "intervention": "intervention",
    "interventions": "intervention",
    "response": "response",
    "responses": "response",
    "goal": "goals",
    "goals": "goals",
}
_CONCEPT_PHRASES: dict[str, str] = {
    "client report": "subjective",
    "presenting problem": "subjective",
    "mental status": "objective",
    "next steps": "plan",
}
# Joining words, and words found in nearly every sentence of a dictation ("client", "session"):
# as cues they would pull every sentence into one section.
STOP_WORDS = frozenset(
    {
        "and",
        "the",
        "for",
        "with",
        "from",
        "into",
        "about",
        "other",
        "any",
        "client",
        "clients",
        "patient",
        "patients",
        "session",
        "sessions",
        "note",
        "notes",
        "section",
        "today",
    }
)


def words_of(title: str) -> list[str]:
    return _WORD.findall(title.casefold())


def section_key(title: str) -> str:
    """The key a section title gets: its words, lower-cased, joined by '_' ('' if none).

    Derived from the title alone, so it is the same every time; a dictation keeps the keys of
    the template as it was when submitted (appliance.practice.note_templates snapshots them)."""
    return "_".join(words_of(title))


def _content_words(title: str) -> list[str]:
    # Two-letter words ("of", "to", "in") are never useful cues: cues match inside words.
    return [w for w in words_of(title) if len(w) > 2 and w not in STOP_WORDS]


def concepts_of(title: str) -> list[str]:
    """The built-in concepts a section title names, in title order (usually none or one)."""
    content = _content_words(title)
    phrase = " ".join(content)
    if phrase in _CONCEPT_PHRASES:
        return [_CONCEPT_PHRASES[phrase]]
    found: list[str] = []
    for word in content:
        concept = _CONCEPT_WORDS.get(word)
        if concept is not None and concept not in found:
            found.append(concept)
    return found


def cues_for(title: str) -> tuple[str, ...]:
    concepts = concepts_of(title)
    if concepts:
        cues = [cue for concept in concepts for cue in CONCEPT_CUES[concept]]
    else:
        cues = _content_words(title)
    return tuple(dict.fromkeys(cues))  # without repeats, order kept


def classes_for(title: str) -> tuple[str, ...]:
    """The learned classifier's concepts a section titled so holds (() if it names none)."""
    return tuple(
        dict.fromkeys(c for concept in concepts_of(title) for c in CONCEPT_CLASSES[concept])
    )


@dataclass(frozen=True)
class SectionSpec:
    """A section as an admin defines it (and as a dictation's snapshot keeps it)."""

    key: str
    title: str
    guidance: str


def custom_format(key: str, title: str, sections: Sequence[SectionSpec]) -> NoteFormat:
    return NoteFormat(
        key,
        title,
        tuple(
            # Without guidance the model is shown the section's title, never an empty line.
            Section(s.key, s.title, s.guidance or s.title, cues_for(s.title), classes_for(s.title))
            for s in sections
        ),
    )


def format_from_snapshot(key: str, snapshot: Mapping[str, Any]) -> NoteFormat:
    """The note format of a dictation's template snapshot ({title, sections: [{key, title,
    guidance}]}); the stored keys are used as they are, never derived again."""
    sections = [
        SectionSpec(str(s["key"]), str(s["title"]), str(s.get("guidance", "")))
        for s in snapshot["sections"]
    ]
    return custom_format(key, str(snapshot["title"]), sections)
