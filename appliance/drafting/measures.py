"""Numbers said about a measure: "the SUD dropped to two", "PHQ-9 was 11, down from 15".

A clinician dictates scores in words as often as in digits, and Whisper writes either, so a
value is read from the words that follow the measure's name, with its place in the text (the
provenance a reviewer checks). A number counts only when it is attached to the measure: between
the name and the number there may be only linking words ("was", "of", "score", "started at",
"dropped to"), never another content word, so "after 8 sets of eye movements the SUD dropped to
2" gives 2, and "PHQ-9 in four weeks" gives nothing. Nothing is guessed.

Every reading looks at a bounded stretch of text after one mention (a few tokens, read lazily, at
most WINDOW characters) and, for start/end markers, a bounded stretch before it, so reading all
the mentions of a hostile text takes time linear in its length (see the adversarial tests:
"SUD " repeated to the typed-note limit).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from speech_io.number_words import TEENS as _TEENS
from speech_io.number_words import TENS as _TENS
from speech_io.number_words import UNITS as _UNITS

# Roles of a reading within a session: the value at the start (SUD 8 before processing) or at
# the end (SUD 3 after). None: the words say neither.
START = "start"
END = "end"

# No scale read here goes past 100 (PCL-5 tops out at 80, a percentage at 100); a longer run of
# digits is not a score, and Python refuses int() of very long ones.
_MAX_DIGITS = 3

# One token: a word (with an in-word apostrophe), a number (with a decimal part: "SUD 2.5"), or
# one other visible character (",", "-", "/", "%"). Read lazily with finditer, so a reading
# touches only the tokens it needs.
_TOKEN = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|\d+(?:\.\d+)?|\S")
# How far after a mention a reading may look, in characters and tokens: "SUD score at the
# start of the session was about 8 out of 10, down from 9" fits; a number farther away is not
# attached to the name.
WINDOW = 160
_MAX_LINK_TOKENS = 10
# How far before a mention its start/end marker may be ("At the end of the session the SUD
# was 3"), in characters; never past the clause's comma or semicolon.
LOOK_BACK = 80

# Words that may stand between a measure's name and its number ("the SUD score at the start
# was about 8"), besides the role words below. Any other word ends the reading: the number
# after it belongs to something else.
_LINKS = frozenset(
    {
        "a",
        "an",
        "as",
        "about",
        "approximately",
        "around",
        "at",
        "been",
        "had",
        "has",
        "is",
        "level",
        "maybe",
        "probably",
        "now",
        "of",
        "only",
        "rated",
        "rating",
        "roughly",
        "score",
        "scored",
        "scores",
        "session",
        "still",
        "the",
        "this",
        "today",
        "total",
        "was",
        "were",
        "are",
        "measured",
        "remained",
        "stayed",
        "stood",
        "peaked",  # "her SUD peaked at seventy"
        "equals",  # Whisper's word for "=" ("GAD-7 equals 16")
        "went",
        "got",  # "Self-energy got up to maybe sixty percent", "SUD got down to 2"
        "came",
        "come",
        "comes",
        ":",
        "=",
        "-",
    }
)
# What opens a rating's topic: "anxiety about the subway", "anxiety re: Monday" (read_after).
_TOPIC_OPENS = frozenset({"about", "re", "regarding"})
# Verbs and words that say the number that follows is where the measure began or ended.
_START_LINKS = frozenset(
    {"started", "starting", "began", "start", "beginning", "baseline", "initially"}
)
_END_LINKS = frozenset(
    {
        "ended",
        "ending",
        "end",
        "finally",
        "dropped",
        "fell",
        "decreased",
        "reduced",
        "lowered",
        "down",
        "rose",
        "increased",
        "climbed",
        "reached",
        "up",
        "improved",
        "close",
    }
)
# What may follow a value linked to its measure by a comma alone, as a dictated list gives it
# ("Validity of cognition, two. Subjective units of disturbance, eight, ..."): the clause's end.
_LISTED_END = frozenset({",", "out", "/", "and"})
# When the value was taken, said between it and an earlier one ("9 today, down from 14").
_NOW = frozenset({"today", "now", "currently"})
# How much a value changed, said before the earlier one: "19, basically unchanged from 20".
_HEDGES = frozenset({"basically", "essentially", "largely", "slightly"})
# Words that may join a first value to a second: "from 7 to 2", "8, then dropped to 3".
_TO_LINKS = frozenset(
    {",", "(", "-", "and", "then", "it", "went", "came", "had", "has", "unchanged"}
    | _END_LINKS
    | _NOW
    | _HEDGES
)
# What may stand between a value and how it changed ("33, and that's down from 47", "9, which is
# actually down from 13"): said only of the value before it.
_EARLIER_ASIDES = (
    (",", "and", "that's"),
    (",", "and", "that", "is"),
    (",", "which", "is"),
    (",", "which", "was"),
    (",", "that's"),
)


def _earlier_aside_end(tokens: list[_Token], i: int) -> int | None:
    """The index after an aside at tokens[i] that a change from an earlier value follows
    ("down from", "up from"), or None."""
    if i >= len(tokens) or tokens[i].text != ",":
        return None  # every aside opens with its comma: most readings end here
    for aside in _EARLIER_ASIDES:
        end = i + len(aside)
        if tuple(t.text for t in tokens[i:end]) == aside:
            return _change_from(tokens, end)
    return None


# Said of how much a value changed, before its direction: "actually down from 13".
_CHANGE_HEDGES = frozenset({"actually"}) | _HEDGES


def _change_from(tokens: list[_Token], k: int) -> int | None:
    """The index of the direction word of "(actually) down from" at tokens[k], or None."""
    while k < len(tokens) and tokens[k].text in _CHANGE_HEDGES:
        k += 1
    if k + 1 < len(tokens) and tokens[k].text in _DIRECTION and tokens[k + 1].text == "from":
        return k
    return None


_DIRECTION = frozenset(
    {"down", "up", "decreased", "increased", "improved", "dropped", "rose", "fell", "unchanged"}
)
# After the value: "rated the SUD at 1 afterward", "VOC of 6 at the end".
_AFTER_END = re.compile(
    r"\s*+(?:afterwards?|after|(?:at|by) (?:the )?(?:end|close)|(?:at|by) session (?:end|close)"
    r"|post)\b",
    re.IGNORECASE,
)
# The second of "a 3 at the start and a 5 when we checked it at the end": its end marker may
# come a few words later, since the first value's start marker already says there are two.
_AFTER_END_SOON = re.compile(
    r"(?:\s*+(?:/\s*+|out\s++of\s++)\w++)?(?:\s++(?!and\b|but\b)[\w']++){0,5}?\s*+"
    r"(?:(?:at|by) (?:the )?(?:end|close)|after(?:wards?)?|at check-?out|going out|on the way out"
    r"|leaving)\b",
    re.IGNORECASE,
)
# When in the session a first value was taken, said after it: "at the start", and in a group
# or a check-in "at check-in", "coming in", "when he started talking".
_AFTER_START = re.compile(
    r"\s*+(?:at (?:the )?(?:start|beginning)|at baseline|initially|at first|before|at check-?in"
    r"|coming in|when (?:he|she|they|we|the client) (?:started|began|came in|arrived|walked in)"
    r"(?: talking| the session)?)\b",
    re.IGNORECASE,
)
# Before the mention, within its clause: "At the end the SUD was 3", "The starting SUD was 8",
# "after 8 sets of eye movements the SUD dropped to 2". The nearest marker wins.
_MARKER_BEFORE = re.compile(
    r"\b(?:(?P<start>start(?:ing|ed)?|initial(?:ly)?|baseline|beginning|began|before|at first)"
    r"|(?P<end>end(?:ed|ing)?|final(?:ly)?|afterwards?|after|post|closing))\b",
    re.IGNORECASE,
)
# Joins the first of two values to the second: "8 at the start and 3 at the end", "an 8 when
# he started talking and was about a 4 by the end".
# ("end" is Whisper's "and" there: "she rated her mood a 4 coming in end a 6 by the end".)
_AND = re.compile(
    r"\s*+(?:,\s*+(?:(?:and|then)\s++)?|(?:and|then|end)\s++)(?:then\s++)?"
    r"(?:(?:it\s++)?was\s++)?"
    r"(?:(?:about|around|roughly|maybe)\s++)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Number:
    """A number as said: its value in digits and where its words are (offsets in the text)."""

    value: str
    start: int
    end: int


@dataclass(frozen=True)
class Reading:
    """What one mention of a measure says.

    value: the first number attached; to: a second one it went to ("from 7 to 2", "8, then
    dropped to 3"); previous: an earlier value given after it ("11, down from 15 at intake");
    out_of: the scale said with it ("3 out of 7"); role: START or END when the words say so;
    earlier_session: the previous value is said to be from another session ("at intake it was
    22", "last time it was 19"), so it is no start of this one (an EMDR SUD's).
    """

    value: Number
    to: Number | None = None
    previous: Number | None = None
    out_of: str | None = None
    role: str | None = None
    earlier_session: bool = False


@dataclass(slots=True)
class _Token:
    text: str  # lower-cased
    start: int
    end: int


def _tokens(text: str, at: int, stop: int) -> Iterator[_Token]:
    for match in _TOKEN.finditer(text, at, stop):
        yield _Token(match.group().lower(), match.start(), match.end())


def _number_at(tokens: list[_Token], i: int) -> tuple[Number, int] | None:
    """The number starting at tokens[i], in digits or words, and the index after it."""
    if i >= len(tokens):
        return None
    first = tokens[i]
    if first.text[0].isdigit():
        whole = first.text.split(".")[0]
        if len(whole) > _MAX_DIGITS:
            return None
        return Number(first.text, first.start, first.end), i + 1
    if first.text in _TENS:
        value, end, j = _TENS[first.text], first.end, i + 1
        # "forty seven", "forty-seven"
        k = j + 1 if j < len(tokens) and tokens[j].text == "-" else j
        if k < len(tokens) and tokens[k].text in _UNITS and tokens[k].text != "zero":
            value, end, j = value + _UNITS[tokens[k].text], tokens[k].end, k + 1
        return Number(str(value), first.start, end), j
    if first.text in _TEENS:
        return Number(str(_TEENS[first.text]), first.start, first.end), i + 1
    if first.text in ("a", "one") and i + 1 < len(tokens) and tokens[i + 1].text == "hundred":
        return Number("100", first.start, tokens[i + 1].end), i + 2
    if first.text in _UNITS:
        # "one of the hardest memories" is no score; "one out of ten" is.
        following = tokens[i + 1].text if i + 1 < len(tokens) else ""
        if first.text == "one" and following == "of":
            return None
        return Number(str(_UNITS[first.text]), first.start, first.end), i + 1
    return None


def _number_or_article(tokens: list[_Token], i: int) -> tuple[Number, int] | None:
    """The number at tokens[i], or after an article there: "down to a three", "from an 8", and
    as Whisper hears "and a 5" ("and the 5")."""
    found = _number_at(tokens, i)
    if found is None and i < len(tokens) and tokens[i].text in ("a", "an", "the"):
        found = _number_at(tokens, i + 1)
    return found


def parse_number(text: str) -> int | None:
    """The whole of `text` as one number ("7", "seven", "forty-seven"), else None."""
    tokens = list(_tokens(text, 0, len(text)))
    found = _number_at(tokens, 0)
    if found is None or found[1] != len(tokens):
        return None
    return int(float(found[0].value))


# A sentence's end or a semicolon; a point inside a number ("2.5") is neither.
_CLAUSE_STOP = re.compile(r"[;?!]|\.(?!\d)")


def _clause_stop(text: str, at: int, limit: int) -> int:
    """Where the reading after `at` must stop: a sentence end or a semicolon, within `limit`.

    A comma does not stop it: "11, down from 15" and "8, then dropped to 3" continue past one,
    but only through the joining words the reading allows.
    """
    stop = min(len(text), at + limit)
    found = _CLAUSE_STOP.search(text, at, stop)
    return stop if found is None else found.start()


_SCORED = frozenset({"scored", "scoring", "totaled", "totalled"})
_SCORERS = frozenset({"she", "he", "they", "client", "pt"})


def _said_earlier(
    tokens: list[_Token], j: int, between: frozenset[str] | set[str]
) -> tuple[Number, int] | None:
    """An earlier value said after a first one as "compared with 18" or "previously 15"
    (tokens[j] the word after the first value and its joining words), and the index after it;
    only directly after the value or its comma."""
    if between or j >= len(tokens):
        return None
    word = tokens[j].text
    if word == "compared" and j + 1 < len(tokens) and tokens[j + 1].text in ("with", "to"):
        return _number_at(tokens, j + 2)
    if word in ("previously", "previous", "prior", "prev", "intake", "baseline"):
        # typed: "18, prev 14", "41 (intake 56)"; Whisper's hyphens: "GAD-7-14-prev-16"
        hyphen = j + 1 < len(tokens) and tokens[j + 1].text == "-"
        return _number_at(tokens, j + 2 if hyphen else j + 1)
    return None


# When an earlier value was taken, said before it: "at intake it was 22", "last time it was
# nineteen", "at intake back in March it was 20", "two weeks ago it was 18".
_EARLIER_TIMES = frozenset({"last", "intake", "baseline", "previous", "prior", "ago", "before"})
_EARLIER_GAP_TOKENS = 6
# The same time said after the earlier value ("it was 19 when we started", "it was 22 at
# intake"), within this many words of it.
_EARLIER_AFTER = _EARLIER_TIMES | {"started", "began", "joined", "walked", "back"}
_EARLIER_AFTER_TOKENS = 4


def _it_was_then(tokens: list[_Token], j: int) -> tuple[Number, int] | None:
    """ "<when, earlier> it was <n>" from tokens[j]: the earlier value and the index after it."""
    anchored = False
    for k in range(j, min(len(tokens), j + _EARLIER_GAP_TOKENS + 1)):
        word = tokens[k].text
        if word == "it" and anchored:
            return _it_was(tokens, k)
        if word == "," and anchored and k + 1 < len(tokens) and tokens[k + 1].text == "it":
            continue  # "At intake, it was 22."
        if not word.isalpha() or word in ("and", "but"):
            return None  # a number, a comma or another clause: not the time of an earlier value
        anchored = anchored or word in _EARLIER_TIMES
    return None


def _it_was(tokens: list[_Token], k: int) -> tuple[Number, int] | None:
    """ "it was <n>" or "it had been <n>" at tokens[k]: the number and the index after it."""
    following = [t.text for t in tokens[k + 1 : k + 3]]
    skip = 3 if following == ["had", "been"] else 2 if following[:1] == ["was"] else 0
    return _number_or_article(tokens, k + skip) if skip else None


_EARLIER_TIME_OPENS = frozenset({"at", "when", "last", "back", "in", "before"})


def _earlier_time_after(tokens: list[_Token], k: int) -> bool:
    """Whether an earlier time ("at intake", "when she joined") is said within a few words
    after tokens[k], in the same clause, opening there ("2 weeks ago" is a count of weeks)."""
    if k >= len(tokens) or tokens[k].text not in _EARLIER_TIME_OPENS:
        return False
    for token in tokens[k : k + _EARLIER_AFTER_TOKENS]:
        if token.text in _EARLIER_AFTER:
            return True
        if not token.text.isalpha():
            return False
    return False


def _it_was_then_after(tokens: list[_Token], k: int) -> tuple[Number, int] | None:
    """ "it was <n> <when, earlier>" at tokens[k]: "16 today, it was nineteen when we started
    in March", the time said after the earlier value."""
    found = _it_was(tokens, k)
    if found is None:
        return None
    after = tokens[found[1] : found[1] + _EARLIER_AFTER_TOKENS]
    return found if any(t.text in _EARLIER_AFTER for t in after) else None


# What may follow an earlier value said in a sentence of its own ("At intake it was 22 back in
# March."): a time or the scale, not a noun that makes it a count of something else ("Last
# week it was 3 panic attacks.").
_AFTER_EARLIER = frozenset(
    {",", ".", ";", "out", "/", "at", "in", "on", "when", "back", "last", "before", "ago"}
)


def _changed_from(tokens: list[_Token], k: int) -> tuple[Number, int] | None:
    """ "(which is) (actually) down from <n>" at tokens[k]: the earlier value and the index
    after it."""
    if tuple(t.text for t in tokens[k : k + 2]) in (("which", "is"), ("which", "was")):
        k += 2
    direction = _change_from(tokens, k)
    return None if direction is None else _number_or_article(tokens, direction + 2)


def earlier_value_opening(text: str) -> Number | None:
    """An earlier value that opens `text`, the sentence after a score, as Whisper splits "PHQ-9
    was 17 today, at intake it was 22" at the pause: "At intake it was 22.", "Last time it was
    nineteen.", "Previously 15.", "Up from 12 at their first session.", "Which is actually down
    from 13 a month ago." None when `text` opens otherwise."""
    stream = _tokens(text, 0, _clause_stop(text, 0, WINDOW))
    tokens = [token for _, token in zip(range(_EARLIER_GAP_TOKENS + 8), stream, strict=False)]
    first = 1 if tokens and tokens[0].text == "and" else 0
    found = (
        _said_earlier(tokens, first, frozenset())
        or _it_was_then(tokens, first)
        or _changed_from(tokens, first)
    )
    if found is None:
        return None
    number, after = found
    if (
        after < len(tokens)
        and tokens[after].text not in _AFTER_EARLIER
        # "down from 13 a month ago"
        and "ago" not in {t.text for t in tokens[after : after + _EARLIER_AFTER_TOKENS]}
    ):
        return None
    return number


# "Her anxiety going in was a six and coming out a three": when in the session, said as the
# client arriving and leaving (with "in" or "out" after it).
_ARRIVING = frozenset({"going", "coming", "walking", "walked"})
# The second value of such a pair: ", and coming out a three", "and walking out about a 2".
_AND_LEAVING = re.compile(
    r"\s*+,?\s*+(?:and\s++)?(?:then\s++)?(?:going|coming|walking|walked)\s++out\b"
    r"(?:\s++(?:it\s++)?(?:was|at))?(?:\s++(?:about|around|maybe|roughly))?(?=\s)",
    re.IGNORECASE,
)
# When a first value was taken, between it and "to" and the second: "from 7 at the start of that
# exercise to 4", "from 8 initially to 3".
_START_BEFORE_TO = re.compile(
    r"\s*+(?:at\s++(?:the\s++)?(?:start|beginning)(?:\s++of\s++(?:[\w'-]++\s++){0,2}?[\w'-]++)?"
    r"|initially|at\s++first|at\s++baseline)(?=\s++to\b)",
    re.IGNORECASE,
)
# Every word the loop of read_after can step over or stop at (a number in words, a link, a
# marker): a first word outside them ends the reading before more of the text is tokenized.
_MAY_LEAD_TO_A_NUMBER = frozenset(
    {*_TENS, *_TEENS, *_UNITS, "a", "one", ",", "from", "to", "in", "back", "and", "when"}
    | _ARRIVING
    | _TOPIC_OPENS
    | _START_LINKS
    | _END_LINKS
    | _LINKS
)


# "SUD when he first pictured it was 8": at most this many words between "when" and "was".
_WHEN_TOKENS = 6
_WAS = frozenset({"was", "were", "is"})
_WHEN_STARTED = frozenset({"started", "began", "first", "arrived", "start", "beginning"})
_WHEN_ENDED = frozenset({"ended", "end", "stopped", "finished", "closed", "left", "leaving"})


# The tops of the scales a clinician rates on ("of ten", "of seven" for the VOC, "of five" for
# DBT urges), and the words that may follow one ("five of ten at the start").
_SCALE_TOPS = frozenset({"5", "7", "10", "100"})
_AFTER_A_SCALE = frozenset({"at", "by", "and", "today", "now", "this", "in", "on", "then"})


def _with_scale(tokens: list[_Token], value: Number, i: int) -> tuple[Number, str | None, int]:
    """`value` (ending at tokens[i]) with the scale said after it ("out of 10", "/10") or as a
    percentage, and the index after them."""
    if i + 2 < len(tokens) and tokens[i].text == "out" and tokens[i + 1].text == "of":
        scale = _number_at(tokens, i + 2)
        if scale is not None:
            return value, scale[0].value, scale[1]
    elif i + 1 < len(tokens) and tokens[i].text == "of":
        # Clipped: "Mood four of ten.", "VOC 5 of 7"; only a rating scale's top, and not a
        # count of something ("two of ten sessions").
        scale = _number_at(tokens, i + 1)
        if (
            scale is not None
            and scale[0].value in _SCALE_TOPS
            and (
                scale[1] >= len(tokens)
                or not tokens[scale[1]].text.isalpha()
                or tokens[scale[1]].text in _AFTER_A_SCALE
            )
        ):
            return value, scale[0].value, scale[1]
    elif i + 1 < len(tokens) and (
        tokens[i].text in ("/", "slash") or [t.text for t in tokens[i : i + 2]] == ["-", "slash"]
    ):
        # Whisper writes a spoken "7/10" as "7 slash 10" or "7-slash 10"
        scale = _number_at(tokens, i + (2 if tokens[i].text == "-" else 1))
        if scale is not None:
            return value, scale[0].value, scale[1]
    elif i < len(tokens) and tokens[i].text in ("percent", "%"):
        return Number(value.value + "%", value.start, tokens[i].end), None, i + 1
    return value, None, i


# A rating of something in particular: "anxiety about the subway", "anxiety re: Monday".
_TOPIC_WORDS = 3


def _about_a_topic(tokens: list[_Token], i: int, topic_words: int) -> bool:
    """Whether tokens[i], a word that links no number, is one of a few words of a topic that
    opened just before it ("about the subway")."""
    if topic_words >= _TOPIC_WORDS or not tokens[i].text.isalpha():
        return False
    if tokens[i].text in _TOPIC_OPENS:
        return topic_words == 0  # "re" opens one ("about" is a link of its own)
    opened = i - topic_words - 1
    while opened >= 0 and tokens[opened].text in ("the", "her", "his", "their", "a", ":"):
        opened -= 1
    return opened >= 0 and tokens[opened].text in _TOPIC_OPENS


# A value corrected as it is said: "a five, sorry, a four", "7, I mean 6", "5, no, 4".
_CORRECTIONS = frozenset({"sorry", "no", "correction", "rather"})


def _corrected(tokens: list[_Token], i: int) -> tuple[Number, int] | None:
    """The number that replaces the value ending at tokens[i], and the index after it."""
    if i + 2 >= len(tokens) or tokens[i].text != ",":
        return None
    k = i + 1
    if tokens[k].text in _CORRECTIONS:
        k += 1
        if k < len(tokens) and tokens[k].text == "wait":
            k += 1  # "twelve, no wait, eleven"
    elif tokens[k].text == "i" and tokens[k + 1].text == "mean":
        k += 2
    else:
        return None
    if k < len(tokens) and tokens[k].text == ",":
        k += 1
    return _number_or_article(tokens, k)


# An aside about the measure between its name and its value: "Miriam's PHQ-9, which she chose to
# share with the group, was 9". It opens with one of these and ends at the next comma, within
# this many tokens.
_ASIDE_OPENS = frozenset({"which", "who"})
_ASIDE_TOKENS = 12


def read_after(text: str, at: int, aside: bool = True) -> Reading | None:
    """The reading of the mention that ends at `at`, or None when no number is attached to it.
    `aside`: whether a relative clause may stand before the value (one, not nested)."""
    stream = _tokens(text, at, _clause_stop(text, at, WINDOW))
    first = next(stream, None)
    # Most mentions are followed by a word that cannot lead to a number ("the PHQ-9 showed",
    # and a hostile note's "SUD SUD SUD ..."): answered from one token.
    if first is None or not (first.text[0].isdigit() or first.text in _MAY_LEAD_TO_A_NUMBER):
        return None
    tokens: list[_Token] = [first]

    def fill(upto: int) -> None:
        while len(tokens) < upto:
            token = next(stream, None)
            if token is None:
                return
            tokens.append(token)

    if first.text == "," and aside:
        fill(_ASIDE_TOKENS + 2)
        if len(tokens) > 1 and tokens[1].text in _ASIDE_OPENS:
            closing = next((t for t in tokens[2:] if t.text == ","), None)
            return None if closing is None else read_after(text, closing.end, aside=False)
        # "He completed the PHQ-9, scoring nine", "GAD seven, he scored thirteen": the score
        # said after a comma, by who scored it.
        scorer = 2 if len(tokens) > 2 and tokens[1].text in _SCORERS else 1
        if len(tokens) > scorer and tokens[scorer].text in _SCORED:
            return read_after(text, tokens[scorer].end, aside=False)

    role: str | None = None
    earlier_session = False
    came_from = False
    arriving = False  # the value was marked as the one "going in"
    # Words of a topic ("anxiety about the subway a 7 out of 10"); with them the number counts
    # only if its scale is said.
    topic_words = 0
    i = 0
    while True:
        fill(i + 3)  # a number in words is at most three tokens
        if i >= len(tokens) or i > _MAX_LINK_TOKENS:
            return None
        word = tokens[i].text
        found = _number_at(tokens, i)
        if found is not None:
            break
        if word == "," and i == 0:
            pass  # "Validity of cognition, two." (checked below: the number ends the clause)
        elif word == "from":
            came_from = True
        elif word == "to":
            role = END  # "dropped to 2", "went to 2": where it ended
        elif word in _START_LINKS:
            role = START
        elif word in _ARRIVING and i + 1 < len(tokens) and tokens[i + 1].text in ("in", "out"):
            role = START if tokens[i + 1].text == "in" else END
            arriving = role == START
            i += 1  # past its "in" or "out"
        elif word in _END_LINKS:
            role = END
        elif word in ("in", "back") and i > 0 and tokens[i - 1].text in ("came", "come", "comes"):
            pass  # "the GAD-7 came in at eleven"; "in" alone is no link ("PHQ-9 in four weeks")
        elif word == "in" and i > 0 and tokens[i - 1].text in ("was", "were", "is"):
            pass  # "SUDs at the start were an eight" as Whisper heard it: "were in 8"
        elif word == "and" and i + 1 < len(tokens) and tokens[i + 1].text in _SCORED:
            pass  # "she completed the PHQ-9 and scored 16"
        elif word == "when" and i == 0:
            # "SUD when he held the image was 8": a clause that says when it was taken.
            fill(_WHEN_TOKENS + 3)
            verb = next(
                (k for k in range(2, min(len(tokens), _WHEN_TOKENS + 2)) if tokens[k].text in _WAS),
                None,
            )
            said = {t.text for t in tokens[1:verb]} if verb is not None else set()
            if verb is None or not all(w.isalpha() for w in said):
                return None  # no "was", or a comma or a number: not one clause of a few words
            role = START if said & _WHEN_STARTED else END if said & _WHEN_ENDED else None
            i = verb
        elif word not in _LINKS:
            if not _about_a_topic(tokens, i, topic_words):
                return None
            topic_words += 1
        i += 1
    value, i = found
    fill(i + 6)
    if (
        tokens[0].text == ","
        and i < len(tokens)
        and tokens[i].text not in _LISTED_END
        and _corrected(tokens, i) is None
    ):
        return None  # "the PHQ-9, 2 weeks ago, was 14": a comma links only a listed value
    if i < len(tokens) and tokens[i].text in (":", "am", "pm"):
        return None  # a time ("PHQ-9 at 10:30"), not a score
    value, out_of, i = _with_scale(tokens, value, i)
    fill(i + 6)
    corrected = _corrected(tokens, i)
    if corrected is not None:
        # "a five, sorry, a four", "7/10, I mean 6/10": what the clinician meant
        fill(corrected[1] + 4)
        value, out_of, i = _with_scale(tokens, *corrected)
    to: Number | None = None
    previous: Number | None = None
    # A second value: "from 7 to 2", "8, then dropped to 3", "7 and ended at 2", or
    # "11, down from 15".
    fill(i + 4)
    # "a 3 out of 10 at the end, down from a 6": when the value was taken, said before the
    # earlier one.
    marked_end = (
        i + 3 < len(tokens)
        and [t.text for t in tokens[i : i + 3]] in (["at", "the", "end"], ["by", "the", "end"])
        and tokens[i + 3].text == ","
    )
    if marked_end:
        i += 3
    if came_from and i < len(tokens):
        # "went from 7 at the start of that exercise to 4": when the first value was taken,
        # said before the second.
        fill(i + 10)
        when = _START_BEFORE_TO.match(text, tokens[i - 1].end)
        if when is not None:
            k = next((k for k in range(i, len(tokens)) if tokens[k].start >= when.end()), None)
            if k is not None and tokens[k].text == "to":
                i = k
    j = i
    fill(j + 8)
    change = _earlier_aside_end(tokens, i)
    if change is not None:
        # "33, and that's down from 47": the earlier value only, after the aside
        j = i = change
    while j < len(tokens) and j - i < 5 and tokens[j].text in _TO_LINKS:
        j += 1
    if j < len(tokens) and tokens[j].text.isalpha():
        fill(j + 12)  # an earlier value said as "at intake back in March it was 20"
    joined_by = {t.text for t in tokens[i:j]}
    following = tokens[j].text if j < len(tokens) else ""
    ended = following == "at" and bool(joined_by & _END_LINKS)  # "7 and ended at 2"
    if (following == "to" and (came_from or j > i)) or ended:
        after = _number_or_article(tokens, j + 1)
        if after is not None:
            to, i = after[0], after[1]
            fill(i + 3)
            if i + 2 < len(tokens) and tokens[i].text == "out" and tokens[i + 1].text == "of":
                scale = _number_at(tokens, i + 2)
                if scale is not None:
                    out_of, i = scale[0].value, scale[1]
    elif (
        earlier := _said_earlier(tokens, j, joined_by - {",", "(", "-"} - _NOW)
    ) is not None and not came_from:
        # "12 compared with 18 last month", "11, previously 15"
        previous, i = earlier
    elif not joined_by - {","} - _NOW and not came_from and (then := _it_was_then(tokens, j)):
        # "17 today, at intake it was 22"
        (previous, i), earlier_session = then, True
    elif (
        joined_by - {",", "and"} - _NOW == {"it"}
        and tokens[j - 1].text == "it"
        and not came_from
        and (then := _it_was_then_after(tokens, j - 1))
    ):
        # "16 today, it was 19 when we started"
        (previous, i), earlier_session = then, True
    elif (
        joined_by - _NOW == {","}
        and following == "was"
        and not came_from
        and (then := _it_was_then_after(tokens, j - 1))
    ):
        # "16 today, was 12 two weeks ago": the same without "it", after a comma
        (previous, i), earlier_session = then, True
    elif following == "from" and not came_from:
        # "11, down from 15" (or "9 today, down from 14"): only after a direction word or
        # directly after the value.
        between = joined_by - {","} - _NOW - _HEDGES
        if between <= _DIRECTION and len(between) <= 1:
            before = _number_or_article(tokens, j + 1)
            if before is not None:
                previous, i = before[0], before[1]
    elif (
        not came_from
        and not joined_by - {","} - _NOW
        and following.isalpha()
        and j + 1 < len(tokens)
        and tokens[j + 1].text == "from"
        and (before := _number_or_article(tokens, j + 2)) is not None
        and _earlier_time_after(tokens, before[1])
    ):
        # Another word before "from" (Whisper's "10, out from 17 at intake" for "down from")
        # when the earlier value's time follows it.
        previous, i = before[0], before[1]
    if topic_words and out_of is None:
        return None
    if came_from and to is None:
        # "SUD went from 7" with no "to": the number is where it started.
        role = START
    if marked_end and role is None and to is None:
        role = END
    end_of_reading = tokens[i - 1].end if i > 0 else value.end
    if arriving and to is None:
        leaving = _AND_LEAVING.match(text, end_of_reading, _clause_stop(text, end_of_reading, 40))
        to = None if leaving is None else number_after(text, leaving.end())
    if role is None and to is None:
        stop = _clause_stop(text, end_of_reading, 40)
        if _AFTER_END.match(text, end_of_reading, stop):
            role = END
        elif (marked := _AFTER_START.match(text, end_of_reading, stop)) is not None:
            role = START
            # "8 at the start and 3 at the end": the second value, with its own marker.
            joined = _AND.match(text, marked.end(), _clause_stop(text, marked.end(), 20))
            second = None if joined is None else number_after(text, joined.end())
            if second is not None and _AFTER_END_SOON.match(
                text, second.end, _clause_stop(text, second.end, 60)
            ):
                to = second
    return Reading(
        value=value,
        to=to,
        previous=previous,
        out_of=out_of,
        role=role,
        earlier_session=earlier_session,
    )


def clause_floor(text: str, at: int, limit: int = LOOK_BACK) -> int:
    """Where the clause holding position `at` starts, at most `limit` characters back."""
    floor = max(0, at - limit)
    mark = max(text.rfind(",", floor, at), text.rfind(";", floor, at))
    return floor if mark == -1 else mark + 1


def role_before(text: str, at: int) -> str | None:
    """START or END when the words before position `at`, in its clause, mark one."""
    role: str | None = None
    for match in _MARKER_BEFORE.finditer(text, clause_floor(text, at), at):
        role = START if match.group("start") else END
    return role


# The measures every modality records. Each name is how the field is keyed; the pattern finds
# the measure's mention ("PHQ-9", "PHQ 9", "phq nine"; "SUDs"; "validity of cognition").
MEASURES: dict[str, re.Pattern[str]] = {
    # "PHQ 13": the nine-item form said without its number, but not another form ("PHQ-8",
    # "PHQ-A", "PHQ 2"): a bare "PHQ 8" could be either, so it is read as neither.
    # Whisper also fuses the name with the score said after it: "PHQ-914" is "PHQ-9, 14",
    # "GAD-713" "GAD-7, 13", "PCL552" "PCL-5, 52"; only where the digits are a score the
    # questionnaire can have (0-27, 0-21, 0-80), so the name ends before them.
    "phq_9": re.compile(
        r"\bphq(?:[- ]?(?:9|nine)\b|-?9(?=(?:1\d|2[0-7]|\d)\b)"
        r"|\b(?!-)(?!\s*+(?:2|4|8|15|a)\b))",
        re.IGNORECASE,
    ),
    "gad_7": re.compile(r"\bgad(?:[- ]?(?:7|seven)\b|-?7(?=(?:1\d|2[01]|\d)\b))", re.IGNORECASE),
    "pcl_5": re.compile(r"\bpcl(?:[- ]?(?:5|five)\b|-?5(?=(?:[1-7]\d|80|\d)\b))", re.IGNORECASE),
    # ... and the SUD and VOC with theirs: "SUD2 at end", "VOC6".
    "sud": re.compile(
        r"\bsuds?\b|\bsud(?=(?:100|\d{1,2})\b)|\bsubjective units? of (?:distress|disturbance)\b",
        re.IGNORECASE,
    ),
    "voc": re.compile(
        # "VOC on the positive cognition was a 3": the belief it rates may be named with it, or
        # pointed back to ("VOC on that was a 2 out of 7", just after the cognition).
        r"\bvoc(?=[1-7]\b)|\bvoc\b(?:\s++(?:on|for|of)\s++(?:the\s++|her\s++|his\s++|their\s++)?"
        r"(?:positive\s++(?:cognition|belief)|pc)\b|\s++(?:on|for)\s++(?:that|it)\b)?"
        r"|\bvalidity of (?:the )?(?:positive )?(?:cognition|belief)\b",
        re.IGNORECASE,
    ),
    "mood_rating": re.compile(r"\bmood\b", re.IGNORECASE),
    "anxiety_rating": re.compile(r"\banxiety\b", re.IGNORECASE),
}
# The questionnaires, whose names are said only of a score.
INSTRUMENTS = frozenset({"phq_9", "gad_7", "pcl_5"})
# Mood and anxiety are words of every sentence, not names of an instrument: a number counts
# for them only as a rating on a scale ("anxiety at 5 out of 10", "mood 6/10").
RATINGS = frozenset({"mood_rating", "anxiety_rating"})
# "The client rated anxiety before the last meeting at 8 out of 10": after "rated ... <name>",
# a few words may come before "at <n> out of <m>".
# ("raided" is how Whisper hears "rated": "She raided her mood at three out of ten.")
_RATED_BEFORE = re.compile(r"\b(?:rat(?:ed|es|ing)|raided)\b", re.IGNORECASE)
_RATED_GAP_TOKENS = 8


def _rated_later(text: str, at: int) -> Reading | None:
    """'rated <name> <a few words> at|as <n> out of <m>': the rating after a short gap."""
    stream = _tokens(text, at, _clause_stop(text, at, WINDOW))
    for _, token in zip(range(_RATED_GAP_TOKENS), stream, strict=False):
        if token.text in (",", "and", "but") or token.text[0].isdigit():
            return None  # another clause, or a number that is not the rating
        if token.text in ("at", "as"):
            reading = read_after(text, token.end)
            return reading if reading is not None and reading.out_of is not None else None
        if token.text in ("a", "an"):
            # "He rated his anxiety that week a six": a point on its scale, as "a 6 out of 10".
            reading = read_after(text, token.start)
            return reading if reading is not None and _said_as_a_rating(text, reading) else None
    return None


# "She scored 14 on the PHQ-9", "a score of 41 on the PCL-5": the number said before the name.
_SCORED_BEFORE = re.compile(
    r"\b(?:scored|scoring|score\s++of|scores\s++of)\s++(?P<number>[\w-]++(?:\s++[\w-]++)?)"
    r"\s++on\s++(?:the\s++|her\s++|his\s++|their\s++|a\s++)?$",
    re.IGNORECASE,
)


def _scored_before(text: str, at: int) -> Reading | None:
    found = _SCORED_BEFORE.search(text, clause_floor(text, at, 60), at)
    value = None if found is None else parse_number(found.group("number"))
    if found is None or value is None:
        return None
    start, end = found.span("number")
    return Reading(value=Number(str(value), start, end))


# "His GAD-7 on the group check-in form was 13", "the PCL-5 she filled out in the waiting room
# came in at 41": an instrument's value after a few words that say where or how it was taken,
# then a verb that states it. None of those words may be a number, a comma, another clause or
# a time that makes it an earlier value ("the PHQ-9 from two weeks ago was 14").
_STATED_GAP_TOKENS = 8
_STATED_BY = frozenset({"was", "were", "is", "came", "totaled", "totalled", "scored"})
_NOT_IN_STATED_GAP = frozenset({"and", "but", "or", "when", "if"}) | _EARLIER_TIMES


def _stated_later(text: str, at: int) -> Reading | None:
    """'<instrument> <where or how taken> was <n>': the value after a short gap."""
    stream = _tokens(text, at, _clause_stop(text, at, WINDOW))
    for _, token in zip(range(_STATED_GAP_TOKENS + 1), stream, strict=False):
        if token.text in _STATED_BY:
            return read_after(text, token.start)
        if not (token.text.isalpha() or token.text == "-") or token.text in _NOT_IN_STATED_GAP:
            return None  # "-": a word like "check-in"
        if token.text in _TENS or token.text in _TEENS or token.text in _UNITS:
            return None
    return None


# "The anxiety has been constant, about an eight out of ten most days": a rating on a scale a
# few words (and at most one comma) after the name. No other clause and no other thing a
# clinician rates may come between, or the number is that thing's ("anxiety is lower, sleep
# about 5 out of 10").
_DESCRIBED_GAP_TOKENS = 8
_RATED_THINGS = frozenset(
    {
        "mood",
        "anxiety",
        "sleep",
        "energy",
        "pain",
        "stress",
        "urge",
        "urges",
        "craving",
        "cravings",
        "depression",
        "motivation",
        "confidence",
        "distress",
        "anger",
        "sadness",
        "shame",
        "fear",
        "panic",
        "worry",
        "sud",
        "suds",
        "voc",
    }
)
_NOT_IN_DESCRIBED_GAP = frozenset({"and", "but", "or", "while", "whereas", "when"}) | _RATED_THINGS
# Verbs by which someone gives a rating: "mood she put at a five", "anxiety he called a seven".
_GIVEN = frozenset({"put", "puts", "rated", "rates", "gave", "gives", "called", "calls"})


def _rating_described_first(text: str, at: int) -> Reading | None:
    """'<rating's name> <a few words describing it> <n> out of <m>': the scale rating after a
    short gap; only a number said on a scale counts."""
    stream = _tokens(text, at, _clause_stop(text, at, WINDOW))
    tokens = [token for _, token in zip(range(_DESCRIBED_GAP_TOKENS + 1), stream, strict=False)]
    commas = 0
    for i, token in enumerate(tokens):
        if token.text in _NOT_IN_DESCRIBED_GAP:
            return None
        commas += token.text == ","
        if commas > 1:
            return None
        if _number_at(tokens, i) is not None:
            # From the word before the number, so that read_after sees the number as linked.
            reading = read_after(text, tokens[i - 1].start) if i > 0 else None
            if reading is None:
                # A word that links nothing before it, as Whisper hears "put at": "mood she
                # put it 4 out of 10". The scale, required below, says it is the rating.
                reading = read_after(text, token.start)
            if reading is None:
                return None
            # "Mood she put at a five, up from a three": said as given by someone, with an
            # article, a number is a point on the rating's scale without the scale said.
            given = any(t.text in _GIVEN for t in tokens[:i])
            if reading.out_of is not None or (given and _said_as_a_rating(text, reading)):
                return reading
            return None
    return None


# "Mood maybe a five", "described his mood as a four": a number said with an article after the
# rating's name is a point on its scale, as "a 6 out of 10" is; so is one the rating started or
# ended at ("her anxiety was down to 2 by the end"). "Anxiety 2 weeks ago" is neither, nor is
# "anxiety dropped to 2 days a week".
_ARTICLE_BEFORE = re.compile(r"\b(?:a|an)\s++$", re.IGNORECASE)
# (A percentage never gets here: read_after makes "60 percent" the value "60%", no digit string.)
_COUNTED_AFTER = re.compile(
    r"\s*+(?:days?|weeks?|months?|years?|times|hours?|nights?|minutes?|mins?|x)\b",
    re.IGNORECASE,
)
_HIGHEST_RATING = 10


def _said_as_a_rating(text: str, reading: Reading) -> bool:
    value = reading.value
    if not value.value.isdigit() or int(value.value) > _HIGHEST_RATING:
        return False
    if _COUNTED_AFTER.match(text, value.end):
        return False
    article = _ARTICLE_BEFORE.search(text, max(0, value.start - 4), value.start) is not None
    # "went from 7 at the start to 4": a change between two points of the scale.
    to = reading.to
    changed = to is not None and to.value.isdigit() and int(to.value) <= _HIGHEST_RATING
    return article or reading.role is not None or changed


def read_measure(name: str, text: str, mention: re.Match[str]) -> Reading | None:
    """The reading of one mention of measure `name`, or None when it gives no attached value."""
    reading = read_after(text, mention.end())
    if name not in RATINGS:
        if reading is None and name in INSTRUMENTS:
            reading = _stated_later(text, mention.end())
        return reading if reading is not None else _scored_before(text, mention.start())
    rated = _RATED_BEFORE.search(text, clause_floor(text, mention.start()), mention.start())
    if reading is not None and (
        reading.out_of is not None or rated is not None or _said_as_a_rating(text, reading)
    ):
        return reading
    if rated is not None:
        return _rated_later(text, mention.end())
    return None if reading is not None else _rating_described_first(text, mention.end())


def number_after(text: str, at: int) -> Number | None:
    """The number that starts right after position `at` ("phase 4", "phase four"), if any."""
    stream = _tokens(text, at, _clause_stop(text, at, 40))
    tokens = [token for _, token in zip(range(4), stream, strict=False)]
    found = _number_or_article(tokens, 0)  # "phase four", "and a 5 at the end"
    return None if found is None else found[0]


# "60 percent Self-energy", "sixty percent of the Self": the percentage that ends just before a
# mention (the search stops at the mention, where "$" matches).
_PERCENT_BEFORE = re.compile(r"(?:\bpercent\b|%)\s*+(?:of\s++)?(?:the\s++)?$", re.IGNORECASE)


def number_before(text: str, at: int) -> Number | None:
    """A percentage said just before position `at`: "about 60 percent Self-energy"."""
    floor = max(0, at - 40)
    match = _PERCENT_BEFORE.search(text, floor, at)
    if match is None:
        return None
    tokens = list(_tokens(text, floor, match.start()))
    # The number is the last one to three tokens before "percent" ("60", "sixty", "forty-five").
    for size in (3, 2, 1):
        found = _number_at(tokens, len(tokens) - size) if len(tokens) >= size else None
        if found is not None and found[1] == len(tokens):
            percent_end = match.start() + (1 if text[match.start()] == "%" else len("percent"))
            return Number(f"{found[0].value}%", found[0].start, percent_end)
    return None
