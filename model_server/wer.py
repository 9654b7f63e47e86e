"""Word error rate and key-term recall, for the speech-to-text tests and benchmark.

Both compare text after one normalisation, so that they measure what was recognised rather than
how it was written. The reference is a dictation script written the way a person would write it
("PHQ-9 of 14", "2:30 PM"), while Whisper writes numbers as digits and espeak-ng speaks them as
words: without normalising, every number would count as an error on one side or the other.

Both use speech_io.normalise (see there for the rules, and why each exists).

Pure Python (no dependency): jiwer computes the same distance, but its value here would be the
edit distance alone (about 20 lines), it pulls in rapidfuzz and click, and its transformations do
not turn number words into digits, so the normalisation would be ours in any case.
"""

from __future__ import annotations

from collections.abc import Sequence

from speech_io.normalise import normalise


def _edit_distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Levenshtein distance over words: substitutions + deletions + insertions."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, start=1):
        current = [i]
        for j, hyp_word in enumerate(hypothesis, start=1):
            current.append(
                min(
                    previous[j] + 1,  # reference word deleted
                    current[j - 1] + 1,  # hypothesis word inserted
                    previous[j - 1] + (ref_word != hyp_word),  # match or substitution
                )
            )
        previous = current
    return previous[-1]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, after normalisation.

    Can exceed 1.0 when the hypothesis adds many words. A reference with no words is refused:
    a rate over zero words means nothing, and it is always a mistake in the test data.
    """
    ref = normalise(reference)
    if not ref:
        raise ValueError("the reference has no words")
    return _edit_distance(ref, normalise(hypothesis)) / len(ref)


def term_recall(terms: Sequence[str], hypothesis: str) -> float:
    """Share of `terms` found in `hypothesis`, each as a run of whole normalised words.

    Whole words, so "transference" is not found inside "countertransference"; a run, so
    "DEAR MAN" needs both words together. An empty list is refused rather than scored 1.0.
    """
    if not terms:
        raise ValueError("no terms to look for")
    words = normalise(hypothesis)
    found = 0
    for term in terms:
        needle = normalise(term)
        if not needle:
            raise ValueError(f"term {term!r} has no words")
        width = len(needle)
        if any(words[i : i + width] == needle for i in range(len(words) - width + 1)):
            found += 1
    return found / len(terms)
