"""Which script sentence each draft statement comes from, by word alignment.

The draft is built from the transcript, whose sentences need not be the script's: Whisper drops
or adds full stops, so one transcript sentence may hold two script sentences or half of one. To
score section placement, each statement is mapped to the script sentence it best overlaps:

1. Both sides are normalised (speech_io.normalise) sentence by sentence, and every word
   keeps the index of the sentence it came from (script side) or of its statement (draft side).
2. The two word sequences are aligned as in WER (Levenshtein, with the backtrace preferring the
   diagonal), so the overlap is counted in order: a word repeated elsewhere in the dictation
   ("the client", "PHQ-9") votes only for the place it was actually aligned to.
3. A statement goes to the script sentence that receives most of its exactly matched words; with
   none, most of its substituted words; with neither (all inserted), the sentence of the nearest
   aligned word before it, else after it. Ties go to the earlier script sentence.

The reverse mapping (each script sentence to the statement holding most of its words) scores
placement per script sentence, which also counts sentences Whisper merged into a neighbour's
statement or lost. On the script itself both mappings are the identity (checked in tests/eval).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from speech_io.normalise import normalise


def _tagged(pieces: Sequence[str]) -> tuple[list[str], list[int]]:
    out_words: list[str] = []
    tags: list[int] = []
    for index, piece in enumerate(pieces):
        for word in normalise(piece):
            out_words.append(word)
            tags.append(index)
    return out_words, tags


def _alignment(ref: Sequence[str], hyp: Sequence[str]) -> list[tuple[int, int, bool]]:
    """(ref index, hyp index, exact) for every aligned (matched or substituted) word pair."""
    rows, cols = len(ref) + 1, len(hyp) + 1
    table = [[0] * cols for _ in range(rows)]
    for i in range(rows):
        table[i][0] = i
    for j in range(cols):
        table[0][j] = j
    for i in range(1, rows):
        for j in range(1, cols):
            table[i][j] = min(
                table[i - 1][j] + 1,
                table[i][j - 1] + 1,
                table[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]),
            )
    pairs: list[tuple[int, int, bool]] = []
    i, j = len(ref), len(hyp)
    while i > 0 and j > 0:
        exact = ref[i - 1] == hyp[j - 1]
        if table[i][j] == table[i - 1][j - 1] + (not exact):
            pairs.append((i - 1, j - 1, exact))
            i, j = i - 1, j - 1
        elif table[i][j] == table[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    pairs.reverse()
    return pairs


def _best(votes: Counter[int]) -> int:
    return min(votes, key=lambda index: (-votes[index], index))


@dataclass(frozen=True)
class Alignment:
    """Script sentences and draft statements, aligned word by word (see the module doc)."""

    sentence_of_statement: list[int | None]  # statement index -> script sentence index
    statement_of_sentence: list[int | None]  # script sentence index -> statement index


def align(script_sentences: Sequence[str], statements: Sequence[str]) -> Alignment:
    """Both directions of the mapping.

    statement -> script sentence: as in the module doc. Script sentence -> statement: the
    statement holding most of its exactly matched words, else most of its substituted words;
    None when none of its words was aligned (Whisper lost the whole sentence). When Whisper
    merges two script sentences into one statement, both map to that statement.
    """
    ref, ref_tags = _tagged(script_sentences)
    hyp, hyp_tags = _tagged(statements)
    exact: list[Counter[int]] = [Counter() for _ in statements]
    substituted: list[Counter[int]] = [Counter() for _ in statements]
    back_exact: list[Counter[int]] = [Counter() for _ in script_sentences]
    back_substituted: list[Counter[int]] = [Counter() for _ in script_sentences]
    aligned_at: dict[int, int] = {}  # hyp word index -> script sentence index
    for r, h, is_exact in _alignment(ref, hyp):
        (exact if is_exact else substituted)[hyp_tags[h]][ref_tags[r]] += 1
        (back_exact if is_exact else back_substituted)[ref_tags[r]][hyp_tags[h]] += 1
        aligned_at[h] = ref_tags[r]
    forward: list[int | None] = []
    for index in range(len(statements)):
        if exact[index]:
            forward.append(_best(exact[index]))
        elif substituted[index]:
            forward.append(_best(substituted[index]))
        else:
            forward.append(_nearest(index, hyp_tags, aligned_at))
    backward: list[int | None] = [
        _best(e) if e else _best(s) if s else None
        for e, s in zip(back_exact, back_substituted, strict=True)
    ]
    return Alignment(forward, backward)


def align_to_script(script_sentences: Sequence[str], statements: Sequence[str]) -> list[int | None]:
    """For each statement (in transcript order), the index of its script sentence.

    None only when the statement has no words or the script has none.
    """
    return align(script_sentences, statements).sentence_of_statement


def _nearest(statement: int, hyp_tags: Sequence[int], aligned_at: dict[int, int]) -> int | None:
    positions = [h for h, tag in enumerate(hyp_tags) if tag == statement]
    if not positions:
        return None
    for h in range(positions[0] - 1, -1, -1):
        if h in aligned_at:
            return aligned_at[h]
    for h in range(positions[-1] + 1, len(hyp_tags)):
        if h in aligned_at:
            return aligned_at[h]
    return None
