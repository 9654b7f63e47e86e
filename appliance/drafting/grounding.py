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


def specifics(text: str) -> set[str]:
    lowered = text.lower()
    found = set(NUMBER.findall(lowered))
    found |= {m for m in MEDICATIONS if m in lowered}
    found |= {d for d in DIAGNOSES if re.search(rf"\b{re.escape(d)}\b", lowered)}
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
_SCORE = re.compile(
    r"\b(phq[- ]9|gad[- ]7|pcl-5|suds?|voc)\b\W*(?:score\s+)?(?:was|of|at|is|=|:)?\s*"
    r"(?:from\s+)?(\d+)",
    re.IGNORECASE,
)


def implausible_scores(statement: str) -> list[str]:
    """Scale scores in `statement` that their scale cannot produce, as "PHQ-9 117"."""
    found = []
    for match in _SCORE.finditer(statement):
        scale, value = match.group(1).lower(), int(match.group(2))
        low, high = SCALE_RANGES[scale]
        if not low <= value <= high:
            found.append(f"{match.group(1)} {value}")
    return found
