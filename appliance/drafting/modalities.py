"""Modality fields: the structured facts each modality records, found only where they are said.

Each field is filled from the dictation by explicit patterns, with the sentence it came from and
the characters its value was read from; a field the dictation does not mention stays empty.
Nothing is guessed.

Fields hold values, not sentences, so that a clinician signs them with light edits: scales and
phases the number ("sud_start: 7", "phase: 4"), cognitions and targets the phrase ("I am
powerless", "the car accident"), term lists the terms named, events ("unburdening") whether
they were done. Free-text fields (homework, chain analysis, themes, ...) keep the words after
the field's own label ("Homework is ..."), or the sentence when those words are too few. A
mention the dictation negates ("no unburdening yet", "we did not get to the target") is
recorded with status NOT_DONE, never as done. A phase, target or event said only in a plan
("we agreed to begin phase 3") is not this session's, and is left out.

Values are read clause by clause (a comma before a label, "and the positive cognition", ends a
phrase), so the comma-joined run-ons Whisper writes for a natural voice read as well as
punctuated sentences. Every search is bounded to a stretch around one mention, or made once per
sentence, so extraction stays linear in the text
(tests/appliance/drafting/test_adversarial_input.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

from appliance.drafting.measures import (
    END,
    INSTRUMENTS,
    MEASURES,
    Reading,
    clause_floor,
    earlier_value_opening,
    number_after,
    number_before,
    parse_number,
    read_after,
    read_measure,
    role_before,
)
from appliance.drafting.segment import Sentence

# A field value's status: said and done, or said as not done ("no unburdening yet").
DONE = "done"
NOT_DONE = "not_done"
# What an event field (unblending, unburdening) and Self-energy hold when they were done.
EVENT_DONE = "done"
PRESENT = "present"


@dataclass(frozen=True)
class FieldValue:
    """One value of a modality field, with its provenance.

    value: the value itself ("7", "I am powerless", "thought record", "done"); "" for a negated
    mention that names no value. sentence: the index of the sentence it was read from. start,
    end: the transcript characters of the value's own words ("seven", or "no unburdening" for a
    negated one), None in drafts stored before values had them. previous: an earlier value said
    with it ("47, down from 52" keeps 52). out_of: the scale said with it ("3 out of 7").
    """

    value: str
    sentence: int  # provenance: index of the sentence it was read from
    start: int | None = None
    end: int | None = None
    status: str = DONE
    previous: str | None = None
    out_of: str | None = None

    @property
    def text(self) -> str:
        """The value as a note shows it: "8 out of 10", "47 (down from 52)", "not done"."""
        if self.status == NOT_DONE:
            return f"{self.value} (not done)" if self.value else "not done"
        shown = f"{self.value} out of {self.out_of}" if self.out_of else self.value
        if self.previous is None:
            return shown
        return f"{shown} ({_direction(self.value, self.previous)} {self.previous})"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FieldValue:
        """The value as `dataclasses.asdict` stored it, whatever version wrote it."""

        def optional(key: str) -> str | None:
            value = data.get(key)
            return None if value is None else str(value)

        start, end = data.get("start"), data.get("end")
        return cls(
            value=str(data["value"]),
            sentence=int(data["sentence"]),
            start=None if start is None else int(start),
            end=None if end is None else int(end),
            status=str(data.get("status", DONE)),
            previous=optional("previous"),
            out_of=optional("out_of"),
        )


def _direction(value: str, previous: str) -> str:
    now, before = parse_number(value.rstrip("%")), parse_number(previous.rstrip("%"))
    if now is None or before is None or now == before:
        return "from"
    return "down from" if now < before else "up from"


Extractor = Callable[[list[Sentence]], list[FieldValue]]


def _value(
    sentence: Sentence,
    value: str,
    start: int,
    end: int,
    *,
    status: str = DONE,
    previous: str | None = None,
    out_of: str | None = None,
) -> FieldValue:
    """A value read from sentence.text[start:end], with its span in the transcript."""
    return FieldValue(
        " ".join(value.split()),  # a filler blanked inside it leaves its spaces
        sentence.index,
        sentence.start + start,
        sentence.start + end,
        status,
        previous,
        out_of,
    )


def _not_done(sentence: Sentence, value: str, start: int, end: int) -> FieldValue:
    """A negated mention: its span runs from the negator to the mention ("no unburdening")."""
    span = _trimmed(sentence.text, start, end) or (start, end)
    return _value(sentence, value, *span, status=NOT_DONE)


# Negation: a negator a few words before the mention, in its clause. "no unburdening yet", "we
# did not get to the target", "the client was unable to unblend"; not "I am not good enough and
# the positive cognition" (the "and" starts another clause).
_NEGATOR = re.compile(
    r"\b(?:no|not|never|without|cannot|unable\s++to|yet\s++to|forgot\s++to|[a-z]+n't)\b",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(r"[,;:]|\b(?:and|but|so|then|while|although)\b", re.IGNORECASE)
_NEGATION_REACH = 60  # characters looked at before a mention
_NEGATION_WORDS = 4  # at most this many words between the negator and the mention
# A term is a noun ("exposure", "the exile"): a negator negates it only through a light verb
# and a determiner ("did not do exposure", "didn't use the TIPP skill", "no exposure"), not
# through a verb of its own ("did not unburden the exile" says nothing against the exile).
_TERM_NEGATED_GAP = re.compile(
    r"\s*+(?:(?:able|time|get|got)\s++to\s++|time\s++for\s++"
    # "we didn't get near an exile today"
    r"|(?:get|got|go|went)\s++(?:near|into)\s++)?"
    r"(?:(?:do|use|practice|try|complete|review|assign|introduce|start|begin|get\s++to)\s++)?"
    r"(?:(?:any|a|an|the|some)\s++)?",
    re.IGNORECASE,
)


def _negation(text: str, at: int) -> int | None:
    """Where the negator of the mention at `at` starts, or None when it is not negated (a
    clause break or too many words between them)."""
    floor = max(0, at - _NEGATION_REACH)
    for found in _CLAUSE_BREAK.finditer(text, floor, at):
        floor = found.end()
    negators = list(_NEGATOR.finditer(text, floor, at))  # a few: the window is short
    negator = negators[-1] if negators else None
    if negator is None or len(text[negator.end() : at].split()) > _NEGATION_WORDS:
        return None
    return negator.start()


# A plan, not what was done: "we agreed to begin phase 3", "next session we will unburden",
# typed "f/u next wk w/ phase 3", "RTC to begin phase 3". A part that agreed to something in IFS
# did it there and then ("the manager agreed to unblend, and she felt more Self").
_FUTURE = re.compile(
    r"\b(?:will|shall|next\s++(?:session|time|week|wk|visit|appointment|appt)|"
    # "We'd planned interoceptive exposure, but ..."
    r"plan(?:s|ned)?\s++to|(?:'d|had|we|I)\s++planned|(?<!part\s)(?<!parts\s)(?<!manager\s)(?<!protector\s)"
    r"(?<!firefighter\s)(?<!exile\s)agreed\s++to|going\s++to|intend(?:s|ed)?\s++to|hope\s++to|"
    r"to\s++(?:begin|start|continue)|f/u|rtc)\b",
    re.IGNORECASE,
)


def _planned(text: str, at: int) -> bool:
    return _FUTURE.search(text, clause_floor(text, at, 100), at) is not None


def _first(extract: Callable[[Sentence], Iterable[FieldValue]]) -> Extractor:
    """A field with one value: the first the sentences give."""

    def first(sentences: list[Sentence]) -> list[FieldValue]:
        for sentence in sentences:
            for value in extract(sentence):
                return [value]
        return []

    return first


def _each(extract: Callable[[Sentence], Iterable[FieldValue]]) -> Extractor:
    """A field with a value per mention, in dictation order."""

    def each(sentences: list[Sentence]) -> list[FieldValue]:
        return [value for sentence in sentences for value in extract(sentence)]

    return each


def _term_pattern(term: str, case_sensitive: bool, *also: str) -> re.Pattern[str]:
    # "all-or-nothing" or "all or nothing"; a plural ("thought records", "exiles") is the term.
    spellings = [r"[- ]".join(re.escape(w) for w in re.split(r"[- ]", t)) for t in (term, *also)]
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.compile(rf"\b(?:{'|'.join(spellings)})(?:e?s)?\b", flags)


def _terms(
    *terms: str,
    case_sensitive: Iterable[str] = (),
    excluded: Mapping[str, str] | None = None,
    written_as: Mapping[str, tuple[str, ...]] | None = None,
) -> Extractor:
    """Every listed term the dictation mentions, once, with the first sentence naming it.

    case_sensitive: acronyms that are also plain words ("GIVE", "STOP" in DBT) count only in
    capitals. excluded: words after a term that make it something else ("acceptance and
    commitment therapy" is the therapy's name, not the process of acceptance). written_as:
    other ways a term comes out of Whisper and keyboards, which in the modality's note can mean
    only the term ("cognitive diffusion" in an ACT note is defusion); the value is the term,
    its span the words as written.
    """
    exact = set(case_sensitive)
    skip = excluded or {}
    other = written_as or {}
    patterns = [
        (
            t,
            _term_pattern(t, t in exact, *other.get(t, ())),
            None if t not in skip else re.compile(skip[t], re.IGNORECASE),
        )
        for t in terms
    ]

    def extract(sentences: list[Sentence]) -> list[FieldValue]:
        found: list[FieldValue] = []
        for term, pattern, unless in patterns:
            value = _term_in(sentences, term, pattern, unless)
            if value is not None:
                found.append(value)
        return found

    return extract


# A term said not to have happened after it, as its own clause's subject: "The behavioral
# experiment we had lined up for today, calling his old partner, was not done because we ran
# short on time." Another clause ("and", "but") or a relative one ("which") between them makes
# the negation someone else's.
_NOT_DONE_AFTER = re.compile(
    r"(?:(?!\b(?:and|but|while|although|whereas|which|who)\b)[^.;!?]){0,120}?"
    r"\b(?:(?:was|were)(?:\s++not|n't)\s++(?:done|completed|attempted|started|begun|finished"
    r"|reached|covered|possible|assigned|introduced)|(?:was|were|got)\s++skipped"
    # "I had intended to introduce self-as-context today, we did not get to it"
    r"|(?:we|I)\s++(?:did\s++not|didn't|never)\s++(?:get|got)\s++to\s++(?:it|that|them)"
    r"|(?:we|I)\s++ran\s++out\s++of\s++time\s++for\s++(?:it|that|them))\b",
    re.IGNORECASE,
)
# Clipped, straight after the term: "Opposite action not tried.", "TIPP not used this week". No
# mark may come between: in "Used TIPP, opposite action not tried" the TIPP was used.
_NOT_TRIED_RIGHT_AFTER = re.compile(
    r"\s++(?:[a-z]++\s++){0,2}?not\s++(?:yet\s++)?(?:tried|attempted|used|practi[cs]ed|done"
    r"|started|addressed|covered|reached|introduced)\b",
    re.IGNORECASE,
)


def _term_in(
    sentences: list[Sentence], term: str, pattern: re.Pattern[str], unless: re.Pattern[str] | None
) -> FieldValue | None:
    intended: FieldValue | None = None
    for sentence in sentences:
        text = sentence.text
        for match in pattern.finditer(text):
            if unless is not None and unless.match(text, match.end()):
                continue
            negator = _negation(text, match.start())
            said = None if negator is None else _NEGATOR.match(text, negator)
            if said is not None and _TERM_NEGATED_GAP.fullmatch(text, said.end(), match.start()):
                return _not_done(sentence, term, said.start(), match.end())
            skipped = _NOT_DONE_AFTER.match(text, match.end()) or _NOT_TRIED_RIGHT_AFTER.match(
                text, match.end()
            )
            if skipped is not None:
                return _not_done(sentence, term, match.start(), skipped.end())
            if _planned(text, match.start()):
                # "We were going to start the exposure hierarchy but we ran out of time, so no
                # exposure this week": meant, then said not done. A term only planned is still
                # named (the field lists terms done or planned), unless a later mention says it
                # was not done; Whisper may have cut the sentence between the two.
                intended = intended or _value(sentence, term, match.start(), match.end())
                continue
            return _value(sentence, term, match.start(), match.end())
    return intended


# Where a phrase ends: a clause mark, a closing quote, or a conjunction that starts the next
# labelled item ("I am powerless and the positive cognition was ..."). A comma ends a
# cognition or a target: in a run-on the labels are what stands between the commas.
_PHRASE_END = re.compile(
    r"""[,;.!?"\u201d]|\s(?:and|but|with|so|while|then|after)\s++(?:the\s++|a\s++|his\s++|"""
    r"""her\s++|their\s++)?(?:positive|negative|suds?|voc|validity|target|phase|we|client|"""
    r"""bilateral|eye|tapping|\d)""",
    re.IGNORECASE,
)
_PHRASE_CHARS = 200  # a cognition or a target is short: a longer stretch was misread
_PHRASE_WORDS = 20
# A target memory is described at more length than a cognition ("being called up to the board in
# fourth grade and the teacher laughing at her wrong answer in front of the class": 21 words).
_TARGET_WORDS = 28
# Where a free-text value ends: a semicolon, or a comma before another clause's subject.
_DESCRIPTION_END = re.compile(
    r";|,\s*+(?:and\s++|but\s++|so\s++)?(?:the client|client|we|the therapist|"
    r"next session|the next session|the plan|plan is|homework|follow[\s-]?up\s++(?:in|next))\b"
    # Whisper's comma for a full stop before the clinician's next act: "..., then I did a chain
    # analysis"
    r"|,\s*+then\s++(?:I|we)\b"
    # Whisper's run-on without the comma: "... on three mornings next session is in one week"
    r"|\s++(?:the\s++)?next\s++session\s++(?:is|will)\b|\s++we(?:\s++will|'ll)\b"
    # "..., and I'll gently bring ...", "..., and her defenses are ...": another subject.
    r"|,\s*+(?:and|but)\s++(?:I|I'll|I'd|she|he|they|will|we'll|said|says|added)\b"
    r"|,\s*+(?:and|but)\s++(?:her|his|their)\s++[\w-]++\s++(?:is|are|was|were)\b"
    # "her values of connection and health and talked about ...": the clinician's next act.
    r"|\s++and\s++(?:then\s++)?(?:talked|discussed|explored|reviewed|practi[cs]ed|worked"
    r"|processed)\b",
    re.IGNORECASE,
)
_TRIM = " \t\n,.;:!?\"'\u201c\u201d"


def _phrase_at(text: str, at: int) -> tuple[int, int] | None:
    """(start, end) of the phrase starting at `at`, or None when it runs on too long."""
    stop = min(len(text), at + _PHRASE_CHARS)
    end = _PHRASE_END.search(text, at, stop)
    if end is None and stop < len(text):
        return None
    return _trimmed(text, at, stop if end is None else end.start())


def _description_at(text: str, at: int) -> tuple[int, int] | None:
    """(start, end) of a free-text value from `at` to its sentence's (or clause's) end."""
    end = _DESCRIPTION_END.search(text, at)
    return _trimmed(text, at, len(text) if end is None else end.start())


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start] in _TRIM:
        start += 1
    while end > start and text[end - 1] in _TRIM:
        end -= 1
    return (start, end) if start < end else None


# What a cognition opens with: the client's own words about themselves or the world ("I am
# powerless", "my fault", "nobody cares"), not the clinician's ("identified", "installed").
_COGNITION_OPENERS = frozenset(
    {
        "i",
        "i'm",
        "i've",
        "i'll",
        "i'd",
        "im",
        "my",
        "me",
        "it",
        "it's",
        "nothing",
        "nobody",
        "no",
        "everyone",
        "everything",
        "people",
        "you",
        "he",
        "she",
        "they",
        "we",
        "there",
        "the",
    }
)
# What a target's description opens with: a determiner or possessive ("the car accident", "her
# father's funeral"), a gerund ("being bitten by a dog"), or "when ..." ("when she was left
# alone"). Anything else after the word "target" is the clinician's talk, not the memory:
# "the first target memory on April 2", "desensitization continued with 18 sets".
_TARGET_OPENERS = frozenset(
    {
        "the",
        "a",
        "an",
        "her",
        "his",
        "their",
        "my",
        "our",
        "your",
        "this",
        "these",
        "those",
        "when",
        "where",
        "how",
        "what",
    }
)


def _opens_a_target(word: str) -> bool:
    word = word.lower().strip("\"'\u201c")
    return word in _TARGET_OPENERS or (word.endswith(("ing", "'s")) and len(word) > 4)


# Other names of each cognition: "the preferred belief is, I did the best I could".
_COGNITION_KINDS = {"positive": "positive|preferred|desired", "negative": "negative"}
# The abbreviations EMDR clinicians write and say: "NC remains, I'm going to die", "the PC she
# wants is, I survived". Upper case only: "pc" in lower case is as often a computer.
_COGNITION_ABBREVIATIONS = {"positive": "PC", "negative": "NC"}
# Who chose it, said between the label and its words: "the positive cognition she chose was,
# I can keep myself safe".
_CHOSEN = (
    # ("Negative cognition, she came up with I'm not safe": the label may be said as a heading)
    r"(?:(?:\s*+,)?\s++(?:she|he|they|the\s++client|we)\s++"
    r"(?:chose|picked|named|identified|wanted|wants|selected|came\s++up\s++with|settled\s++on)\b)?"
)


# The memory it belongs to, said between the label and its words: "the negative belief that
# goes with it is, I'm stupid".
_GOES_WITH = r"(?:\s++that\s++(?:goes|went|comes|came)\s++with\s++(?:it|that|this|the\s++memory))?"
# A positive cognition said as the belief wished for: "the belief she'd like to have is, ...".
_WISHED_BELIEF = (
    r"\bbelief\s++(?:she|he|they|the\s++client)(?:'d|\s++would)\s++(?:like|want|love)\s++to"
    r"\s++(?:have|hold|believe|feel)\b"
)


# What must follow "NC" or "PC" for the words after it to be the cognition: a verb that says
# which ("is", "remains", "came out as"), a colon or the cognition's opening quote ('NC "I'm
# powerless"'); a comma alone is no link for two letters.
_SAYS_WHICH = re.compile(r"\b(?:is|was|remains|remained|out)\b|[:\"\u201c]", re.IGNORECASE)


def _cognition(kind: str) -> Extractor:
    wished = f"|{_WISHED_BELIEF}" if kind == "positive" else ""
    label = re.compile(
        rf"(?:(?:\b(?:{_COGNITION_KINDS[kind]})\s++(?:cognition|belief)s?\b"
        rf"|\b(?P<abbreviation>(?-i:{_COGNITION_ABBREVIATIONS[kind]}))\b){_CHOSEN}{_GOES_WITH}"
        rf"{wished})"
        # "the negative cognition remains, I'm going to die"; Whisper's "the positive cognition
        # as I survived" for "is"
        r"(?:\s*+(?:(?:was|is|as|were|of|being|that|remains|remained|still|came\s++out)\b"
        r"|[:,\"'\u201c-]))*+"
        r"\s*+",
        re.IGNORECASE,
    )

    def extract(sentence: Sentence) -> Iterable[FieldValue]:
        text = sentence.text
        for match in label.finditer(text):
            if match.group("abbreviation") and not _SAYS_WHICH.search(match.group()):
                continue  # "a new PC, I think": an abbreviation is a cognition's only when linked
            negated = _negation(text, match.start())
            if negated is not None:
                yield _not_done(sentence, "", negated, match.end())
                return
            span = _phrase_at(text, match.end())
            if span is None:
                continue
            words = text[span[0] : span[1]].split()
            if words[0].lower().strip("\"'") in _COGNITION_OPENERS and len(words) <= _PHRASE_WORDS:
                yield _value(sentence, text[span[0] : span[1]], *span)
                return

    return _first(extract)


_TARGET = re.compile(
    r"\b(?:target(?:ed|ing|s)?|desensiti[sz](?:ed|ing|ation)|reprocess(?:ed|ing)?"
    # "we continued phase four on the memory of the house fire": the memory worked on.
    r"|on(?=\s++(?:the|a)\s++memory\s++of\b))\b"
    r"(?:\s++(?:memory|image|incident|event|was|is|of|on|which)\b|\s*+[:,]"
    # "we picked up the target from last week, which is being called up to the board"
    r"|\s++from\s++(?:the\s++|our\s++)?last\s++(?:week|session|time)\b)*+\s*+",
    re.IGNORECASE,
)
# "a memory of being bitten", "on the target memory of the crash", "her memory of the night",
# "reprocessing the target of the break-in": the field holds the memory's description.
_MEMORY_OF = re.compile(
    r"(?:an?|the|her|his|their)\s++(?:target(?:\s++(?:memory|image|incident|event))?|memory)"
    r"\s++(?:of|that|when|where)\s++",
    re.IGNORECASE,
)


# The memory narrowed to its worst moment after a comma, as the same description: "the crash at
# the intersection, specifically the moment he was on the ground".
_NARROWED = re.compile(
    r",\s*+(?=(?:specifically|especially|particularly|mainly|in\s++particular)?\s*+"
    r"(?:the\s++(?:moment|part|point|image|second)|when)\b)",
    re.IGNORECASE,
)


# Words that point back to a target instead of describing it: "the target we set up last
# time", "the same target", "that target".
_REFERS_TO_TARGET = re.compile(
    r"(?:the|that|this|our)\s++(?:same\s++)?target\b(?!\s++(?:memory|image)\s++of\b)",
    re.IGNORECASE,
)
# The same said just before the word "target" ("on the target we chose last session, ...").
_POINTS_TO_TARGET = re.compile(r"\b(?:the|that|this|our)\s++(?:same\s++)?$", re.IGNORECASE)


_SUBJECTS = frozenset({"she", "he", "they", "we", "i", "it", "client", "pt"})


def _target(sentence: Sentence) -> Iterable[FieldValue]:
    text = sentence.text
    for match in _TARGET.finditer(text):
        negated = _negation(text, match.start())
        if negated is not None:
            yield _not_done(sentence, "", negated, match.end())
            return
        if _planned(text, match.start()):
            continue
        at = match.end()
        memory = _MEMORY_OF.match(text, at)
        span = _phrase_at(text, memory.end() if memory else at)
        if span is None:
            continue
        words = text[span[0] : span[1]].split()
        pointed_back = _REFERS_TO_TARGET.match(text, span[0]) or (
            not _opens_a_target(words[0])
            and _POINTS_TO_TARGET.search(text, max(0, match.start() - 20), match.start())
        )
        if pointed_back and text.startswith(",", span[1]):
            # "on the target we set up last time, the car accident on the highway": the
            # memory is the description after the comma, not the words pointing back to it.
            described = _phrase_at(text, span[1] + 1)
            if described is None:
                continue
            span, words = described, text[described[0] : described[1]].split()
        # After "target:" any words are the memory, as typed notes give it ("target: dog
        # attack at age 9"); after a verb they must open as a description does.
        # Whisper hears that colon as a comma in a clipped note read aloud: "..., phase three,
        # target, father shouting in the kitchen, ..." (the label opening its own clause).
        said, before = match.group().rstrip(), text[: match.start()].rstrip()
        labelled = said.endswith(":") or (
            said.lower() in ("target,", "target memory,", "target image,")
            and (not before or before.endswith(","))
            and words[0].lower() not in _SUBJECTS  # "target, she picked ...": a clause
        )
        if (labelled or _opens_a_target(words[0])) and len(words) <= _TARGET_WORDS:
            narrowed = _NARROWED.match(text, span[1])
            more = None if narrowed is None else _phrase_at(text, narrowed.end())
            if more is not None and len(text[span[0] : more[1]].split()) <= _TARGET_WORDS:
                span = (span[0], more[1])
            yield _value(sentence, text[span[0] : span[1]], *span)
            return


_PHASE = re.compile(r"\bphase\b", re.IGNORECASE)


# A phase named for later with the plan after it: "so phase four begins next week".
_STARTS_LATER = re.compile(
    r"\s*+(?:begins|starts|will\b|is\s++planned|is\s++scheduled|next\s++(?:week|session|time))",
    re.IGNORECASE,
)


# A sentence that opens as the plan is the plan to its end, past its commas: "Next session:
# resource installation, then begin phase four if stable."
_OPENS_AS_PLAN = re.compile(
    r"\s*+(?:(?:the\s++)?next\s++(?:session|time|week|visit|appointment)"
    r"|(?:the\s++)?plan(?:\s*+:|\s++is\b|\s++for\s++next\b)|p\s*+:|f/u\b)",
    re.IGNORECASE,
)


def _phase(sentence: Sentence) -> Iterable[FieldValue]:
    text = sentence.text
    if _OPENS_AS_PLAN.match(text):
        return
    for match in _PHASE.finditer(text):
        number = number_after(text, match.end())
        if number is None or not 1 <= int(float(number.value)) <= 8:
            continue  # EMDR has eight phases
        negated = _negation(text, match.start())
        if negated is not None:
            yield _not_done(sentence, number.value, negated, number.end)
            return
        if not _planned(text, match.start()) and not _STARTS_LATER.match(text, number.end):
            yield _value(sentence, number.value, number.start, number.end)


def _phases(sentences: list[Sentence]) -> list[FieldValue]:
    """Each phase worked in, once: "Continued phase four, ... and once the SUD reached zero we
    moved to phase five". A phase said not done counts only when none was done."""
    done: dict[str, FieldValue] = {}
    not_done: list[FieldValue] = []
    for sentence in sentences:
        for value in _phase(sentence):
            if value.status == NOT_DONE:
                not_done.append(value)
            else:
                done.setdefault(value.value, value)
    return list(done.values()) or not_done[:1]


def _described(
    label: str, *, fallback: bool = False, min_words: int = 1
) -> Callable[[Sentence], Iterable[FieldValue]]:
    """A free-text field: the words after its label and link, to the end of the sentence.

    The pattern `label` includes the link ("Homework is", "For committed action,", "diary card
    showed"), so the value starts where the content does. With `fallback`, a mention followed
    by too few words ("We reviewed the homework.") keeps the whole sentence, as before values
    were trimmed, rather than lose it.
    """
    pattern = re.compile(label, re.IGNORECASE)

    def extract(sentence: Sentence) -> Iterable[FieldValue]:
        text = sentence.text
        match = pattern.search(text)  # once per sentence: a value runs to the sentence's end
        if match is None:
            return
        negated = _negation(text, match.start())
        if negated is not None:
            yield _not_done(sentence, "", negated, match.end())
            return
        span = _description_at(text, match.end())
        if span is not None and len(text[span[0] : span[1]].split()) >= min_words:
            yield _value(sentence, text[span[0] : span[1]], *span)
        elif fallback:
            yield _value(sentence, text, 0, len(text))

    return extract


def _any_of(*extractors: Callable[[Sentence], Iterable[FieldValue]]) -> Extractor:
    """A free-text field said in several ways: per sentence, the first way that gives a value."""

    def extract(sentence: Sentence) -> Iterable[FieldValue]:
        for one in extractors:
            values = list(one(sentence))
            if values:
                yield from values
                return

    return _each(extract)


def _or_next_after(
    extractor: Extractor, lead: re.Pattern[str], then: Callable[[Sentence], Iterable[FieldValue]]
) -> Extractor:
    """`extractor`'s values, and `then`'s from a sentence that gave none where the sentence
    before it mentions `lead`: "Then we moved into values work. He named being present and
    being playful, ..." names the values a sentence after the word."""

    def extract(sentences: list[Sentence]) -> list[FieldValue]:
        found = extractor(sentences)
        given = {value.sentence for value in found}
        for before, sentence in pairwise(sentences):
            if sentence.index not in given and lead.search(before.text):
                found.extend(then(sentence))
        return sorted(found, key=lambda value: (value.sentence, value.start or 0))

    return extract


# A committed action's label that ends its sentence: the action is the next one.
_LABEL_ENDS_SENTENCE = re.compile(r"\bcommitted actions?\s*+[.:]?\s*+$", re.IGNORECASE)

# The sentence before the values are named: "Then we moved into values work."
_VALUES_WORK = re.compile(r"\bvalues\b", re.IGNORECASE)

# ACT values named in a list: "the client named independence and friendship as top values".
_NAMED_VALUES = re.compile(
    r"\bnamed\s++(?P<values>(?:[\w'-]++,?\s++){0,9}?[\w'-]++),?\s++"
    r"(?:as\s++(?:(?:their|her|his|top|core|key|important|main|personal|most|the)\s++)*values?\b"
    # "he named being a present, playful dad and staying creative as what matters most to him",
    # and as Whisper heard it, "... and staying creative is what matters most"
    r"|(?:as|is)\s++what\s++matters\s++(?:most\s++)?to\s++(?:her|him|them))",
    re.IGNORECASE,
)


def _named_values(sentence: Sentence) -> Iterable[FieldValue]:
    match = _NAMED_VALUES.search(sentence.text)
    if match is not None:
        yield _value(sentence, match.group("values"), match.start("values"), match.end("values"))


def _event(mention: str) -> Extractor:
    """Whether something was done in the session: "unblended", "it was unburdened"."""
    pattern = re.compile(mention, re.IGNORECASE)

    def extract(sentence: Sentence) -> Iterable[FieldValue]:
        text = sentence.text
        for match in pattern.finditer(text):
            negated = _negation(text, match.start())
            if negated is not None:
                yield _not_done(sentence, "", negated, match.end())
                return
            if not _planned(text, match.start()):
                yield _value(sentence, EVENT_DONE, match.start(), match.end())
                return

    return _first(extract)


# "Self-energy" in any case; "Self" alone only with its capital, and not "Self-harm" or a
# sentence's first word (where any "self" is capitalised).
_SELF = re.compile(
    r"(?i:\bself[- ]energy\b)"
    # Whisper's lower case after a percentage: "she felt about 40% self"
    r"|(?i:(?<=%\s)self\b|(?<=percent\s)self\b)(?![- ](?i:esteem|care|harm|injur))"
    r"|\bSelf\b(?![- ](?i:esteem|care|harm|injur|talk|worth|doubt|image|help))"
)


_SELF_ASIDE = re.compile(
    r"(?:\s++(?:there|present|here|in\s++the\s++room))?\s*+,\s*+"
    r"(?:(?:maybe|perhaps|probably|about|around|roughly|approximately)\s++)+",
    re.IGNORECASE,
)


# "When I checked for Self-energy she said she felt about sixty percent": the client's own
# estimate, said of herself just after the word.
_SELF_ESTIMATED = re.compile(
    r"\s*+,?\s*+(?:she|he|they|the client)\s++(?:said|reported|estimated|rated it)"
    r"(?:\s++(?:she|he|they|it)\s++(?:felt|was|were|had|is|feels))?"
    r"(?=\s++(?:at\s++|about\s++|around\s++|maybe\s++|roughly\s++)*+[\w%]++\s*+(?:%|percent))",
    re.IGNORECASE,
)


def _self_energy(sentence: Sentence) -> Iterable[FieldValue]:
    text = sentence.text
    for match in _SELF.finditer(text):
        if match.start() == 0 and not match.group().lower().endswith("energy"):
            continue
        negated = _negation(text, match.start())
        if negated is not None:
            yield _not_done(sentence, "", negated, match.end())
            return
        if _planned(text, match.start()):
            continue
        before = number_before(text, match.start())
        if before is not None:
            yield _value(sentence, before.value, before.start, before.end)
            return
        # "some Self energy there, maybe sixty percent": the estimate after a short aside.
        aside = _SELF_ASIDE.match(text, match.end()) or _SELF_ESTIMATED.match(text, match.end())
        reading = read_after(text, aside.end() if aside else match.end())
        if reading is not None and (reading.out_of or reading.value.value.endswith("%")):
            number = reading.value
            yield _value(sentence, number.value, number.start, number.end, out_of=reading.out_of)
            return
        yield _value(sentence, PRESENT, match.start(), match.end())
        return


def _start_and_end(reading: Reading, role: str | None) -> dict[str, tuple[str, int, int]]:
    """Which of an EMDR scale's start and end one reading gives, as (value, start, end)."""
    value = reading.value
    if reading.to is not None:  # "from 7 to 2", "8, then dropped to 3"
        to = reading.to
        return {"start": (value.value, value.start, value.end), "end": (to.value, to.start, to.end)}
    # "3, down from 8"; not "2, last session it was 5" (another session's, not this one's start)
    if reading.previous is not None and not reading.earlier_session:
        before = reading.previous
        return {
            "start": (before.value, before.start, before.end),
            "end": (value.value, value.start, value.end),
        }
    which = "end" if role == END else "start"
    return {which: (value.value, value.start, value.end)}


# "Starting SUD was 8, and after twenty-two sets it dropped to 2": where the scale ended, said
# of "it" later in the sentence that gave its start. Only within WENT_ON_CHARS of that value,
# and only while no other measure is named in between ("... and the PCL-5, it dropped to 40"
# is the PCL-5's).
_IT_WENT_TO = re.compile(
    r"\b(?:it|that)\s++(?:had\s++|has\s++)?"
    r"(?:dropped|fell|came\s++down|went\s++down|decreased|reduced|rose|went\s++up|increased"
    r"|climbed|came\s++up|come\s++(?:up|down)|was\s++down|was\s++up)\s++to\s++(?:a\s++)?"
    # "... started at a 7, and by the end of the session it was a 3"
    r"|\b(?:by|at)\s++the\s++end\b(?:\s++of\s++(?:the\s++|today's\s++)?session)?,?\s++"
    r"(?:it|that)\s++(?:was|had\s++been|ended)\s++(?:at\s++)?(?:a\s++)?",
    re.IGNORECASE,
)
WENT_ON_CHARS = 120


def _reading_end(reading: Reading) -> int:
    return max(n.end for n in (reading.value, reading.to, reading.previous) if n is not None)


def _went_on_to(name: str, text: str, after: int) -> tuple[str, int, int] | None:
    """The value "it" went to after position `after`, as (value, start, end), if said."""
    stop = min(len(text), after + WENT_ON_CHARS)
    went = _IT_WENT_TO.search(text, after, stop)
    if went is None:
        return None
    others = (p for key, p in MEASURES.items() if key != name)
    if any(p.search(text, after, went.start()) for p in others):
        return None
    number = number_after(text, went.end())
    return None if number is None else (number.value, number.start, number.end)


# In an EMDR note "the disturbance" with a number is the SUD ("the disturbance started at a 7"),
# but a sleep disturbance is not; so is the rating of the memory ("she rated the memory a seven
# out of ten at the start").
_EMDR_MENTIONS = {
    "sud": re.compile(
        rf"{MEASURES['sud'].pattern}|(?<!sleep\s)\b(?:level\s++of\s++)?disturbance\b"
        # ... and "he rated the crash memory a seven": one word may say which memory.
        r"|\b(?:rated|raided)\s++(?:the\s++|that\s++|this\s++)?(?:[\w'-]++\s++)?(?:target\s++)?"
        r"memory\b",
        re.IGNORECASE,
    ),
    # "Her positive cognition is I can learn, and she rated that a two at the start": how true
    # the positive cognition feels is its validity, whether or not "VOC" is said.
    "voc": re.compile(
        rf"{MEASURES['voc'].pattern}"
        r"|\bpositive\s++(?:cognition|belief)\b[^.;?!]{0,120}?\brated\s++(?:that|it|this)\b",
        re.IGNORECASE,
    ),
}


# The readings of a scale's mentions, per sentence, while one extract_fields call runs: the
# start field and the end field read the same mentions, and a sentence as long as a typed note
# (a hostile one: "SUD SUD SUD ...") was read twice. Kept for that one call only, so no
# dictation's words outlive its draft in a module-level cache.
_READINGS_OF_THIS_CALL: ContextVar[dict[tuple[str, int, int], list[tuple[Reading, str | None]]]] = (
    ContextVar("readings_of_this_call")
)


def _scale_readings(name: str, sentence: Sentence) -> list[tuple[Reading, str | None]]:
    """Each attached reading of scale `name` in `sentence`, with the role its words give it."""
    memo = _READINGS_OF_THIS_CALL.get(None)
    key = (name, sentence.start, sentence.end)
    if memo is not None and key in memo:
        return memo[key]
    mention = _EMDR_MENTIONS.get(name, MEASURES[name])
    text = sentence.text
    readings: list[tuple[Reading, str | None]] = []
    for match in mention.finditer(text):
        reading = read_after(text, match.end())
        if reading is not None:
            readings.append((reading, reading.role or role_before(text, match.start())))
    if memo is not None:
        memo[key] = readings
    return readings


def _scale(name: str, which: str) -> Extractor:
    """SUD/VOC start or end: "SUD went from 7 to 2", "starting SUD was 8", "at the end the SUD
    was 3", "the SUD dropped to two": the first value the words give that role to. A value with
    no marker at all is the start; a second one is not taken for the end (that would be a guess).
    """

    def extract(sentence: Sentence) -> Iterable[FieldValue]:
        text = sentence.text
        readings = _scale_readings(name, sentence)
        for reading, role in readings:
            found = _start_and_end(reading, role).get(which)
            if found is None and which == "end" and reading.to is None:
                found = _went_on_to(name, text, _reading_end(reading))
            if found is not None:
                out_of = reading.out_of if name == "voc" else None
                yield _value(sentence, found[0], found[1], found[2], out_of=out_of)
                return
        if which == "end" and not readings:
            # "I checked the VOC at the end and it had come up to a four": the scale named
            # without a number, then where "it" went. Only the first mention is looked at.
            mention = _EMDR_MENTIONS.get(name, MEASURES[name]).search(text)
            found = None if mention is None else _went_on_to(name, text, mention.end())
            if found is not None:
                yield _value(sentence, *found)

    return _first(extract)


def _measure(name: str) -> Extractor:
    """Every value said for a measure common to all modalities (PHQ-9, GAD-7, PCL-5, SUD, VOC,
    mood and anxiety ratings): "PHQ-9 was 11, down from 15" is 11 with previous 15, and so is
    "the PHQ-9 went from 15 to 11" (a questionnaire is scored once a session, so its first
    value is an earlier session's). A rating is taken at any moment, so "SUD went from 80 to
    40" and "anxiety a 6 at check-in and a 4 at checkout" are two readings of this session:
    80 and 40, as the development set's labels give them."""
    mention = MEASURES[name]
    once_a_session = name in INSTRUMENTS

    def extract(sentence: Sentence) -> Iterable[FieldValue]:
        text = sentence.text
        for match in mention.finditer(text):
            reading = read_measure(name, text, match)
            if reading is None:
                continue
            now, before = reading.value, reading.previous
            if reading.to is not None and not once_a_session:
                yield _value(sentence, now.value, now.start, now.end, out_of=reading.out_of)
                now = reading.to
            elif reading.to is not None:
                now, before = reading.to, reading.value
            yield _value(
                sentence,
                now.value,
                now.start,
                now.end,
                previous=None if before is None else before.value,
                out_of=reading.out_of,
            )

    each = _each(extract)

    def extract_all(sentences: list[Sentence]) -> list[FieldValue]:
        found = each(sentences)
        after = {before.index: sentence for before, sentence in pairwise(sentences)}
        said_in = {sentence.index: sentence for sentence in sentences}
        for i, value in enumerate(found):
            last = i + 1 == len(found) or found[i + 1].sentence != value.sentence
            following = after.get(value.sentence)
            if value.previous is None and last and following is not None:
                earlier = _earlier_in_next(said_in[value.sentence], value, following)
                if earlier is not None:
                    found[i] = replace(value, previous=earlier)
        return found

    return extract_all


# A value that ends its sentence: "PHQ-9 was 17 today." (then the next may give the earlier one).
_ENDS_SENTENCE = re.compile(
    r"\s*+(?:(?:out\s++of|/)\s*+\w++)?[\s,]*+(?:today|now|this\s++(?:week|session))?"
    r"\s*+[.;!?]?\s*+$",
    re.IGNORECASE,
)


def _earlier_in_next(sentence: Sentence, value: FieldValue, following: Sentence) -> str | None:
    """The earlier value of a score that ends `sentence`, said by the next one on its own: "PHQ-9
    was 17 today. At intake it was 22." (Whisper ends a sentence at a comma's pause). Not when
    the next sentence names a measure of its own."""
    if value.end is None or not _ENDS_SENTENCE.match(sentence.text, value.end - sentence.start):
        return None
    if any(pattern.search(following.text) for pattern in MEASURES.values()):
        return None
    earlier = earlier_value_opening(following.text)
    return None if earlier is None else earlier.value


def _common(*, without: Iterable[str] = ()) -> dict[str, Extractor]:
    left_out = set(without)
    return {name: _measure(name) for name in MEASURES if name not in left_out}


def _transference(label: str) -> Callable[[Sentence], Iterable[FieldValue]]:
    """ "I noted a transference pattern, since the client expected me to take sides": what
    follows the label and its link; the sentence when little follows."""
    return _described(
        # "I noticed some countertransference as well, since I felt ...": an "as well" or a
        # "too" may come before the link.
        label + r"\b(?:\s++(?:pattern|reaction|feeling|dynamic|theme)s?\b)?"
        r"(?:\s++(?:as\s++well|too|also)\b)?(?:\s*+[:,])?\s*+"
        r"(?:(?:(?:seems|seemed|appears|appeared)\s++to\s++be|since|in which|where|as|that|was"
        r"|is|of|with|towards?|emerged|appeared)\b\s*+)?",
        fallback=True,
    )


# How a field is shown where its key would read badly ("Phq 9").
FIELD_LABELS = {
    "phq_9": "PHQ-9",
    "gad_7": "GAD-7",
    "pcl_5": "PCL-5",
    "sud": "SUD",
    "voc": "VOC",
    "sud_start": "SUD start",
    "sud_end": "SUD end",
    "voc_start": "VOC start",
    "voc_end": "VOC end",
    "self_energy": "Self-energy",
}


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name) or name.replace("_", " ").capitalize()


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
            # The verb says the same distortion: "she catastrophized about the test".
            written_as={
                "catastrophizing": ("catastrophized", "catastrophizes", "catastrophising"),
                "discounting the positive": ("discounts the positive", "discounted the positive"),
                "should statements": ("should statement",),
            },
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
            "downward arrow",
        ),
        "homework": _any_of(
            _described(
                # "HW" is the typed shorthand ("HW: thought record daily", "HW - TR daily").
                # Not last week's, reviewed: "Reviewed thought record from HW; pt identified ...".
                r"(?<!\bfrom\s)(?<!\bfrom\sthe\s)(?<!\bfrom\sher\s)(?<!\bfrom\shis\s)"
                r"\b(?:homework|hw)\b(?:\s++(?:is|was|will\s++be)\b)?(?:\s++to\b)?[\s,:]*+"
                r"(?:-\s++)?",
                fallback=True,
                min_words=2,  # "Homework was reviewed." keeps its sentence
            ),
            _described(r"\bassigned\b\s*+", fallback=True, min_words=2),
            _described(r"\bbetween sessions\b[\s,:]*+", fallback=True, min_words=2),
        ),
        **_common(),
    },
    "dbt": {
        "diary_card_targets": _any_of(
            _described(
                r"\bdiary cards?(?:,?\s++which)?(?:\s++(?:showed|shows|show|noted|recorded|tracked"
                r"|indicated|listed|included|reflected|had)\b\s*+|\s*+:\s*+)"
            ),
            # "Her diary card targets this week were drinking, ...": the week may be said.
            # Whisper writes "were" there as "we're" or "where".
            _described(
                r"\bdiary card targets?(?:\s++(?:this|last|for\s++the|over\s++the(?:\s++past)?)"
                r"\s++week)?\s++(?:were|we're|where|was|are|is|included|includes?)\b\s*+"
            ),
            # The card named first, its targets after a comma: "Reviewed the diary card, targets
            # this week were bingeing, ...", "diary card half filled in, targets tracked ...".
            _described(
                r"\bdiary cards?\b[^.;:]{0,100}?,\s*+(?:and\s++)?(?:the\s++)?targets?"
                # "..., and the targets she's been tracking are ..."
                r"(?:\s++(?:she's|he's|they've|she|he|they)\s++(?:has\s++|have\s++)?(?:been\s++)?"
                r"(?:tracking|tracks"
                r"|tracked))?(?:\s++(?:this|last|for\s++the"
                r"|over\s++the(?:\s++past)?)\s++week)?(?:\s++(?:were|we're|was|are|is|included"
                r"|includes?|tracked)\b|\s*+:)\s*+"
            ),
            # A list said after the label, its colon heard as a comma ("diary card targets,
            # urges to quit, ..."); not an aside ("diary card targets, which she set, ...").
            _described(
                r"\bdiary card targets?\s*+[:,]\s*+"
                r"(?!(?:which|that|she|he|they|we|I|though|however|as|so|but|and)\b)"
            ),
        ),
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
            "pros and cons",
            # Not one of Linehan's skills, but taught with them for urges (DBT for substance use).
            "urge surfing",
            case_sensitive=("GIVE", "FAST", "ACCEPTS", "STOP"),
            # Heard in lower case, the word "skill" says it is the skill: "the stop skill".
            written_as={
                "STOP": ("stop skill", "Stop skill", "STOP skill"),
                "GIVE": ("give skill", "Give skill", "GIVE skill"),
                "FAST": ("fast skill", "Fast skill", "FAST skill"),
            },
        ),
        "chain_analysis": _any_of(
            _described(
                r"\bchain analys[ie]s\b(?:\s++(?:(?:was|were)\s++)?(?:of|on|for|about|regarding"
                r"|focused\s++on|looked\s++at|centered\s++on|went)\b)?[\s,:]*+",
                fallback=True,
            )
        ),
        **_common(),
    },
    "act": {
        "hexaflex_processes": _terms(
            "defusion",
            "acceptance",
            "present moment",
            "self-as-context",
            "values",
            "committed action",
            excluded={"acceptance": r"\s++and\s++commitment\b"},
            written_as={"defusion": ("diffusion",)},
        ),
        "values": _or_next_after(
            _any_of(
                _named_values,
                # "... values are", and "revisited his values, which are ..."
                _described(
                    r"\bvalues?(?:,?\s++(?:which|that))?\s++(?:are|were|is|was|include[sd]?"
                    r"|including|of)\b[\s:]*+"
                ),
                # "she identified her values as honesty and ...", "what matters most to him is"
                _described(
                    r"\b(?:identified|named|described|listed|chose|clarified)\s++(?:her|his|their)"
                    r"\s++(?:(?:core|top|main|key|personal)\s++)?values\s++as\s++"
                    r"|\bwhat\s++matters\s++(?:most\s++)?to\s++(?:her|him|them|me)\s++(?:is|are)"
                    r"\s++"
                    # "when we looked at values she said family and honesty"
                    r"|\bvalues,?\s++(?:she|he|they|the\s++client)\s++(?:said|named|chose|picked"
                    r"|identified|listed)\s++(?!what\s++matters\b)"
                    # "... she named her values as being a steady, present daughter"
                    r"(?:(?:her|his|their)\s++values\s++(?:as|were|are)\s++)?"
                ),
            ),
            _VALUES_WORK,
            _described(
                r"^\s*+(?:he|she|they|the\s++client)\s++(?:named|chose|picked|identified|listed)"
                r"\s++"
            ),
        ),
        "committed_action": _or_next_after(
            _any_of(
                _described(
                    r"\bcommitted actions?\b(?:\s++for\s++(?:the|this|next)\s++week\b)?"
                    r"(?:\s*+(?:(?:is|was|will\s++be)\b|[:,]))*+\s*+(?:to\s++)?"
                ),
                _described(r"\bcommit(?:s|ted)?\s++to\s++"),
            ),
            # The label said with a pause after it, which Whisper writes as a full stop:
            # "Okay, plan for committed action. She will walk the park loop on Saturday."
            _LABEL_ENDS_SENTENCE,
            _described(r"^\s*+(?=(?:she|he|they|the\s++client)\s++(?:will|is\s++going\s++to)\b)"),
        ),
        **_common(),
    },
    "emdr": {
        "phase": _phases,
        "target": _first(_target),
        "negative_cognition": _cognition("negative"),
        "positive_cognition": _cognition("positive"),
        "sud_start": _scale("sud", "start"),
        "sud_end": _scale("sud", "end"),
        "voc_start": _scale("voc", "start"),
        "voc_end": _scale("voc", "end"),
        # The SUD and VOC of EMDR are its start and end fields above.
        **_common(without=("sud", "voc")),
    },
    "ifs": {
        "parts": _terms(
            "protector",
            "manager",
            "firefighter",
            "exile",
            # A part named by what it does: "a protective part", "an exiled part".
            written_as={
                "protector": ("protective part",),
                "manager": ("managing part",),
                "firefighter": ("firefighting part",),
                "exile": ("exiled part",),
            },
        ),
        "self_energy": _first(_self_energy),
        "unblending": _event(r"\bunblend\w*"),
        "unburdening": _event(r"\bunburden\w*"),
        **_common(),
    },
    "psychodynamic": {
        "themes": _any_of(
            _described(
                r"(?<!transference\s)\b(?:theme|pattern)s?\s++(?:of|was|is|were|are|included|"
                r"include|including|around|about)\b\s*+|\b(?:theme|pattern)s?\s*+:\s*+"
                # "the theme underneath it is longing for ...": a few words, then "is".
                r"|(?<!transference\s)\btheme\s++(?:(?!is\b|was\b)[\w']++\s++){1,3}?"
                r"(?:is|was)\s++"
                # "We returned to a familiar theme, his fear that ...": named after a comma at
                # the sentence's end ("A recurring theme, abandonment, ran ..." is not read:
                # where such a name ends is a guess).
                r"|\b(?:to|on|into|around|with)\s++(?:a|the|his|her|their)\s++"
                r"(?:familiar|recurring|central|core|same|old|long-?standing|persistent"
                r"|underlying|dominant)\s++theme\s*+,\s*+(?!(?:as|which|that|again|once)\b)"
            )
        ),
        "defenses": _terms(
            "denial",
            "projection",
            "intellectualization",
            "isolation of affect",
            "rationalization",
            "displacement",
            "splitting",
            "repression",
            "reaction formation",
            "sublimation",
            "humor",
            "minimization",
            "devaluation",
            # A defense named by its verb, as clinicians write it down: "the anger is being
            # displaced onto his wife", "intellectualizing to stay away from the feelings".
            written_as={
                "isolation of affect": ("isolation of effect",),
                "intellectualization": (
                    "intellectualizing",
                    "intellectualized",
                    "intellectualizes",
                ),
                "rationalization": ("rationalizing", "rationalized", "rationalizes"),
                "displacement": ("displaced onto", "displacing onto", "displaces onto"),
                "projection": ("projecting onto", "projected onto", "projects onto"),
                "sublimation": ("sublimating", "sublimated", "sublimates"),
                "minimization": ("minimizing", "minimized", "minimizes"),
                "devaluation": ("devaluing", "devalued", "devalues"),
            },
        ),
        "transference": _any_of(_transference(r"\btransference")),
        # "CT:" is how a psychodynamic note types it, as a heading (with its colon only).
        "countertransference": _any_of(
            _transference(r"(?:\bcountertransference|\b(?-i:CT)(?=\s*+:))")
        ),
        **_common(),
    },
    "integrative": _common(),
}


# Said while thinking, between a field's words and its value: "SUD was, um, nine", "anxiety,
# uh, seven out of ten", "Positive cognition, let me see, I did everything I could". "um" and
# "uh" are never a value's words; "let me see" and "you know" only between commas. ("I mean"
# corrects a value, measures._corrected, so it stays; "er" is also the ER.)
_FILLER = re.compile(
    r"(?:,\s*+)?\b(?:u+m+|u+h+|erm)\b(?:\s*+,)?(?=\s|$)|,\s*+(?:let\s++me\s++see|you\s++know),",
    re.IGNORECASE,
)


def without_fillers(sentence: Sentence) -> Sentence:
    """The sentence with its fillers blanked, character for character, so that every offset
    (each value's span in the transcript) is the same as in what was said."""
    blanked = _FILLER.sub(lambda m: " " * len(m.group()), sentence.text)
    return sentence if blanked == sentence.text else replace(sentence, text=blanked)


def extract_fields(modality: str, sentences: list[Sentence]) -> dict[str, list[FieldValue]]:
    memo = _READINGS_OF_THIS_CALL.set({})
    sentences = [without_fillers(s) for s in sentences]
    try:
        return {name: extract(sentences) for name, extract in FIELDS[modality].items()}
    finally:
        _READINGS_OF_THIS_CALL.reset(memo)
