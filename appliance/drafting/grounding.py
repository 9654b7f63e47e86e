"""Grounding: the specific facts in a statement must appear in the dictation span it cites.

Numbers, scores, dates, medications and diagnoses are where a model's invention does harm, so
each is checked against the cited source text; any that is missing there becomes a flag.
"""

from __future__ import annotations

import re

NUMBER = re.compile(r"\b\d+(?:[.,:]\d+)*\b")
MEDICATIONS = (
    "sertraline",
    "fluoxetine",
    "escitalopram",
    "citalopram",
    "paroxetine",
    "venlafaxine",
    "duloxetine",
    "bupropion",
    "mirtazapine",
    "trazodone",
    "quetiapine",
    "aripiprazole",
    "olanzapine",
    "risperidone",
    "lithium",
    "lamotrigine",
    "valproate",
    "clonazepam",
    "lorazepam",
    "alprazolam",
    "diazepam",
    "prazosin",
    "hydroxyzine",
    "buspirone",
    "methylphenidate",
    "amphetamine",
    "atomoxetine",
    "naltrexone",
    "propranolol",
    "zolpidem",
)
DIAGNOSES = (
    "major depressive disorder",
    "generalized anxiety disorder",
    "ptsd",
    "post-traumatic stress disorder",
    "bipolar",
    "borderline personality disorder",
    "panic disorder",
    "ocd",
    "obsessive-compulsive disorder",
    "adhd",
    "schizophrenia",
    "social anxiety disorder",
    "adjustment disorder",
    "substance use disorder",
    "alcohol use disorder",
    "anorexia",
    "bulimia",
    "insomnia disorder",
)


# Compiled once, and only searched for where the words are there at all: building each pattern
# per statement was most of the time of a draft with thousands of short sentences.
_DIAGNOSIS_PATTERNS = tuple((d, re.compile(rf"\b{re.escape(d)}\b")) for d in DIAGNOSES)


def specifics(text: str) -> set[str]:
    lowered = text.lower()
    found = set(NUMBER.findall(lowered))
    found |= {m for m in MEDICATIONS if m in lowered}
    found |= {d for d, word in _DIAGNOSIS_PATTERNS if d in lowered and word.search(lowered)}
    return found


def ungrounded(statement: str, cited: str) -> list[str]:
    """The specifics of `statement` that its cited source does not contain, sorted."""
    source = cited.lower()
    source_numbers = set(NUMBER.findall(source))
    missing = []
    for item in specifics(statement):
        present = item in source_numbers if NUMBER.fullmatch(item) else item in source
        if not present:
            missing.append(item)
    return sorted(missing)


# Scale ranges: a score outside its scale is a mishearing ("PHQ-9 117"), not a fact. Grounding
# cannot catch it (it is in the transcript), so the range is checked instead.
SCALE_RANGES = {
    "phq-9": (0, 27),
    "phq 9": (0, 27),
    "gad-7": (0, 21),
    "gad 7": (0, 21),
    "pcl-5": (0, 80),
    "sud": (0, 10),
    "suds": (0, 10),
    "voc": (1, 7),
}
# "PHQ-9 was 14", "GAD-7: 9", "SUD score of 6", "VOC is from 3". Each run of blanks or other
# non-word characters is taken whole (possessive "*+", "++"). It was "\W*" next to "\s*" (and
# "\s+" next to "\s*"), which could share one run of spaces in n**2 ways: "PHQ-9" and 20,000
# spaces took 13 s, and at the typed-note limit of 50,000 characters 85 s, with every user's
# drafting stalled behind it. The old pattern tried the whole run first, and giving part of it
# back never let it succeed where the whole run had failed (nothing after a run can take those
# characters but "=", ":" or another run, which the whole run leaves available too), so the
# same scores are found, in time linear in the statement.
_SCORE = re.compile(
    r"\b(phq[- ]9|gad[- ]7|pcl-5|suds?|voc)\b\W*+(?:score\s++)?(?:was|of|at|is|=|:)?\s*+"
    r"(?:from\s++)?(\d+)",
    re.IGNORECASE,
)
# No scale goes past 80: a longer number is out of range however it reads, and is shown cut
# short (Python refuses int() of more than 4,300 digits, which failed the whole draft).
_MAX_SCORE_DIGITS = 6
_SHOWN_DIGITS = 12


def implausible_scores(statement: str) -> list[str]:
    """Scale scores in `statement` that their scale cannot produce, as "PHQ-9 117"."""
    found = []
    for match in _SCORE.finditer(statement):
        scale, digits = match.group(1), match.group(2).lstrip("0") or "0"
        low, high = SCALE_RANGES[scale.lower()]
        if len(digits) > _MAX_SCORE_DIGITS:
            shown = digits if len(digits) <= _SHOWN_DIGITS else digits[:_SHOWN_DIGITS] + "..."
            found.append(f"{scale} {shown}")
        elif not low <= int(digits) <= high:
            found.append(f"{scale} {int(digits)}")
    return found
