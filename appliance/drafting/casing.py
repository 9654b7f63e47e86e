"""Clinical terms written the way the vocabulary writes them: "emdr" -> "EMDR", "phq 9" ->
"PHQ-9", "dear man" -> "DEAR MAN".

Whisper spells a hinted term right but cases it as it likes ("emDR", "Sud", "PHQ9"). Casing is
applied silently, once, to Whisper's text (appliance.drafting.pipeline.transcribe), before any
statement cites it: it changes no word, so a fact can neither appear nor vanish, and every span
of the draft cites the text as stored. What is clinician-typed is never recased: a typed note
gets the same corrections as suggestions (appliance.drafting.suggestions) to accept or not.

Only terms with a capital in the vocabulary are recased (lower-case terms such as "parts" or a
medication keep the capital a sentence gives them), only the dictation's own modality's terms
and the common scales (the list Whisper was hinted with), and only as whole words ("sud" in
"sudden" stays). Acronyms that are also everyday words are left alone: whether "act" means
the therapy or the verb is exactly what its case says, and that is Whisper's to decide.
"""

from __future__ import annotations

import re
from functools import cache

from appliance.drafting.vocabulary import BY_MODALITY, COMMON

# Acronyms whose lower-case spelling is an everyday English word ("we act on it", "no ifs").
EVERYDAY_WORDS = frozenset({"act", "ifs"})

_PART = re.compile(r"[A-Za-z0-9]+")


def cased_terms(modality: str) -> tuple[str, ...]:
    """The modality's terms (and the common scales) whose case this module restores."""
    terms = BY_MODALITY.get(modality, ()) + COMMON
    return tuple(
        t for t in terms if any(c.isupper() for c in t) and t.lower() not in EVERYDAY_WORDS
    )


def term_pattern(term: str) -> str:
    """A regex for `term` in any case, its parts joined by a space, a hyphen or nothing
    ("PHQ-9": "phq 9", "PHQ9", "Phq-9"), as a whole word."""
    parts = _PART.findall(term)
    return r"(?<!\w)" + r"[ -]?".join(re.escape(p) for p in parts) + r"(?!\w)"


@cache
def _pattern(modality: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    # Longest first, so a longer term is taken whole before a shorter one inside it.
    ordered = tuple(sorted(cased_terms(modality), key=len, reverse=True))
    joined = "|".join(f"({term_pattern(t)})" for t in ordered)
    return re.compile(joined, re.IGNORECASE), ordered


def normalise_casing(text: str, modality: str) -> str:
    """`text` with the modality's capitalised terms written as the vocabulary writes them."""
    pattern, ordered = _pattern(modality)
    if not ordered:
        return text

    def spelled(match: re.Match[str]) -> str:
        assert match.lastindex is not None
        return ordered[match.lastindex - 1]

    return pattern.sub(spelled, text)
