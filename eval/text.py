"""Phrase matching after speech_io.normalise.

"PHQ-9", "PHQ 9" and "phq9" are the same words there, and so are "fifty milligrams" and "50 mg",
so a fact counts as present however Whisper or the draft happens to write it. A phrase matches as
a run of whole words: "transference" is not found inside "countertransference".
"""

from __future__ import annotations

from collections.abc import Sequence

from speech_io.normalise import normalise


def words(text: str) -> list[str]:
    return normalise(text)


def contains(haystack: Sequence[str], phrase: str) -> bool:
    """Whether the normalised words of `phrase` occur as one run in `haystack` (normalised)."""
    needle = normalise(phrase)
    if not needle:
        raise ValueError(f"{phrase!r} has no words")
    width = len(needle)
    return any(list(haystack[i : i + width]) == needle for i in range(len(haystack) - width + 1))
