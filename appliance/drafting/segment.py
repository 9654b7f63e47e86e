"""Splitting a transcript into sentences that keep their character spans (the provenance)."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

# Abbreviations a clinician says that end in a period but do not end a sentence.
_ABBREVIATIONS = ("dr.", "mr.", "mrs.", "ms.", "e.g.", "i.e.", "vs.", "approx.", "a.m.", "p.m.")
# Typed shorthand with a period, which may end a sentence or not ("Saw pt." / "pt. reports"). A
# label that begins a sentence never ends it there: "Pt. reports poor sleep", "Dx. MDD",
# "F/u. in 2 wks" ("Dx." alone says nothing). "pt." and "appt." inside a sentence end it unless a
# lower-case word follows on the same line ("met w/ pt. today" / "Saw pt. Pt reports ...").
# Either way a line break still ends the sentence: a typed line is a statement. Units ("2
# wks.", "1 hr.") end more sentences than they continue, so their period ends one as any does.
_LABELS = ("pt.", "pts.", "hx.", "dx.", "ddx.", "tx.", "rx.", "sx.", "f/u.", "h/o.", "appt.")
_MID_SENTENCE = ("pt.", "pts.", "appt.")
_ANY_ABBREVIATION = frozenset(_ABBREVIATIONS + _LABELS)
# A person's initials ("J.M.", "S.W."), as clinicians dictate a client or partner: the sentence
# goes on after them before a lower-case word ("partners S.W. and D.W. attended", "client J.M.
# reported") and ends before anything else ("... for J.M. The client ..."). Two to four letters,
# found in the few characters before the full stop (the lookbehind sees the whole text).
_INITIALS = re.compile(r"(?<![\w.])(?:[A-Za-z]\.){2,4}")
_INITIALS_REACH = 8
INITIALS = "initials"
# Shortest first, as no abbreviation of its own word ends another of its own word.
_ABBREVIATION_LENGTHS = sorted({len(a) for a in _ANY_ABBREVIATION})
# A full stop inside a closing quote ends the sentence too ("... said, "Okay, maybe." Explored
# the theme ..."), unless a lower-case word goes on with it ("she said "I'm done." and left").
_BOUNDARY = re.compile(r"[.!?](?=\s|$)|[.!?][\"\u201d')]+(?=\s++[^a-z\s]|\s*+$)|\n")
# What follows a label's period on its line: blanks, then a lower-case letter or something else.
# Possessive: the blanks are read once (the next boundary is after them).
_NEXT_ON_LINE = re.compile(r"[ \t]*+(?P<next>[^\s])?")
_BLANKS = re.compile(r"\s*+")
# Whisper often runs a dictation's sentences together with commas ("..., the client denies
# suicidal ideation, the client reports starting ..."). In a sentence that long, a comma
# followed by a new clause's subject ends a statement, so that each fact can be placed (and a
# risk clause isolated) on its own. Shorter sentences and other commas are left alone: "the
# negative cognition was, I am powerless" is one thought.
RUN_ON_WORDS = 30
# "\s++" (possessive): what follows starts with a letter, so blanks are never given back.
_CLAUSE_START = re.compile(
    r",\s++(?=(?:the client|client|we|the therapist|therapist|plan is|the plan|"
    r"next session|the next session|homework|symptoms|at the end)\b)",
    re.IGNORECASE,
)
# Whatever the sentence's length, what comes next after a comma is a statement of its own:
# Whisper joins "The client denies suicidal ideation, intent, or plan. Homework is two thought
# records." into one sentence, and a note must not file the homework under risk, nor the risk
# under the plan. Only these plan openings: unlike "the client" or "we", nothing else in a
# sentence starts with them ("When asked about sleep, the client said ..." is one statement).
_NEXT_STEP_START = re.compile(
    r",\s++(?=(?:homework|next session|the next session|we will meet|we'll meet|"
    r"we will see|follow-up is|follow up is)\b)",
    re.IGNORECASE,
)
_MIN_CLAUSE_WORDS = 4
_WORD = re.compile(r"\S+")  # a word as str.split() finds it


@dataclass(frozen=True)
class Sentence:
    index: int
    start: int
    end: int
    text: str
    # Which written sentence (counted from 0) this one is, or is a piece of: a run-on cut into
    # statements gives pieces of one written sentence, which a draft may show as one again.
    # None where no one counted (a sentence made by hand).
    written: int | None = None


def split_sentences(transcript: str) -> list[Sentence]:
    sentences: list[Sentence] = []
    start = 0
    # Whether the text since `start`, less trailing blanks, ends with an abbreviation: then the
    # boundary found is no sentence end ("Dr. Lee", "Dr.\nLee"). Kept up to date boundary by
    # boundary instead of re-reading the text since `start` at each one, which made "Dr. " or
    # "Dr." and blank lines repeated to the typed-note limit quadratic.
    abbreviated = False
    previous_end = 0
    # Where the sentence's first word starts, found once per sentence and only when a label
    # asks: finding it at every boundary rescanned a run of blank lines from each of them.
    first_word: int | None = None
    for match in _BOUNDARY.finditer(transcript):
        end = match.end()
        if match.group() == "\n":
            # A line break keeps an abbreviation open only across blanks ("Dr.\n\nLee").
            abbreviated = abbreviated and not transcript[previous_end : match.start()].strip()
        else:  # the boundary ends with its full stop, so only the last few characters count
            found = _abbreviation(transcript, start, end)
            if found is not None and found not in _ABBREVIATIONS and first_word is None:
                first_word = _first_word(transcript, start)
            abbreviated = found is not None and _continues(transcript, found, end, first_word)
        previous_end = end
        if abbreviated:
            continue
        _add(sentences, transcript, start, end)
        start = end
        first_word = None
    _add(sentences, transcript, start, len(transcript))
    return sentences


def _first_word(text: str, start: int) -> int:
    blanks = _BLANKS.match(text, start)  # always matches: "\s*+" may be empty
    return blanks.end() if blanks is not None else start


def _abbreviation(text: str, start: int, end: int) -> str | None:
    """The abbreviation whose full stop ends at `end`, if it is a word of its own: "Dr." and
    "ms.", never the end of "symptoms." or "concept."."""
    # Every abbreviation has a letter before its full stop: most full stops are let go here,
    # without the lookups below (which, at every stop of a typed note of one-word sentences,
    # were a third of its drafting time).
    if end - 2 < start or not text[end - 2].isalpha():
        return None
    for length in _ABBREVIATION_LENGTHS:
        before = end - length - 1
        if before + 1 < start:
            break
        candidate = text[before + 1 : end].lower()
        if candidate in _ANY_ABBREVIATION and (before < 0 or not text[before].isalpha()):
            return candidate
    for reach in range(4, _INITIALS_REACH + 1, 2):
        if end - reach >= start and _INITIALS.fullmatch(text, end - reach, end) is not None:
            return INITIALS
    return None


def _continues(text: str, abbreviation: str, end: int, first_word: int | None) -> bool:
    """Whether the sentence goes on after the abbreviation ending at `end`."""
    if abbreviation in _ABBREVIATIONS:
        return True
    on_line = _NEXT_ON_LINE.match(text, end)  # always matches: every part is optional
    following = on_line.group("next") if on_line is not None else None
    if following is None:  # a line break or the end of the text
        return False
    if abbreviation == INITIALS:
        return following.islower()
    if end - len(abbreviation) == first_word:
        return True
    return abbreviation in _MID_SENTENCE and following.islower()


def _add(sentences: list[Sentence], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return
    offset = start + len(piece) - len(piece.lstrip())
    previous = sentences[-1].written if sentences else None
    written = previous + 1 if previous is not None else 0
    for clause_start, clause_end in _clauses(stripped):
        clause = stripped[clause_start:clause_end]
        sentences.append(
            Sentence(len(sentences), offset + clause_start, offset + clause_end, clause, written)
        )


def _clauses(sentence: str) -> list[tuple[int, int]]:
    """(start, end) of each statement in one sentence: the whole of it unless it is a run-on."""
    # Where each word starts, so that the words before and after a comma are counted by
    # bisection: splitting the rest of the sentence at every comma was quadratic on a typed
    # run-on ("..., we ..." thousands of times).
    words = [match.start() for match in _WORD.finditer(sentence)]
    starts = _CLAUSE_START if len(words) > RUN_ON_WORDS else _NEXT_STEP_START
    pieces: list[tuple[int, int]] = []
    start = 0
    for match in starts.finditer(sentence):
        cut = match.start() + 1  # the comma stays with its clause
        # A blank follows `cut` and a word starts at `start` and at `match.end()`, so these are
        # the word counts of sentence[start:cut] and sentence[match.end():].
        before = bisect_left(words, cut) - bisect_left(words, start)
        after = len(words) - bisect_left(words, match.end())
        if before >= _MIN_CLAUSE_WORDS and after >= _MIN_CLAUSE_WORDS:
            pieces.append((start, cut))
            start = match.end()
    pieces.append((start, len(sentence)))
    return pieces
