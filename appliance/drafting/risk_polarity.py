"""Which way each mention of ideation or self-harm in a risk statement goes.

A mention is denied ("denies SI", "SI/HI neg", "-SI"), reported ("endorses SI", "+SI",
"passive SI", "SI w/ plan"), only a history ("hx of SI", "s/p suicide attempt"), clear but
neither ("contracted for safety re: SI"), or unclear: Whisper hears the spoken "denies" as
"dies" or "the eye" (appliance.drafting.risk), and a statement that says neither must be checked.

Typed notes say these in clinicians' shorthand as often as in words, so the statement is read as
tokens that keep the shorthand whole ("w/o", "h/o", "(+)") and split what it joins ("SI/HI" is
SI and HI, "+SI" a sign and SI). Mentions joined by "/", ",", "and", "or" form a list that
shares one polarity word: "denies SI, HI, self-harm", "SI/HI denied", "no SI/HI/AVH". Each list
takes, in this order:

- the sign written on a mention itself ("-SI", "+SI", "+ HI", "(-) SI"), which beats any word;
- the nearest polarity word before it in its clause ("pt denies current SI"), or, when there
  is none, the first after it ("SI: denied", "SI/HI neg", "SI w/o plan"). The word after wins
  instead when it follows a colon ("SI: none HI: endorsed") or when a comma stands between the
  word before and the mention ("mood low, denies anxiety, SI endorsed");
- failing both, a sign elsewhere in the list ("-SI/HI"), "passive" / "active" ("passive SI"),
  or a noun that says the thing is there ("suicidal thoughts").

A report word negated just before it ("doesn't report SI", "did not endorse SI") is a denial. A
clause ends at ";", a full stop, "but", "however", ... and at ", and": "no SI but +HI" reports
HI, as "pt denies SI, endorses HI" does (there the nearer word is "endorses").

The words that only typed notes use ("+", "pos", "w/") cannot come from Whisper. The ones it
can write ("passive", "past", "present") count only in the shape a clinician types them, so that
a misheard denial stays unclear: "dies active suicidal ideation" is not a report, "dies SI at
present" neither.

Every step looks at a few tokens around one list and lists do not overlap, so reading is linear
in the text (tests/appliance/drafting/test_adversarial_input.py).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum


class Polarity(StrEnum):
    DENIED = "denied"
    REPORTED = "reported"
    HISTORY = "history"  # a past event, not current ideation: "hx of SI"
    STATED = "stated"  # clear, but neither way: "contracted for safety", "SI has been assessed"


@dataclass(frozen=True)
class Mention:
    term: str  # as written: "SI", "suicidal", "self-harm", "C-SSRS"
    start: int  # characters of the text
    end: int
    polarity: Polarity | None  # None: the statement neither denies nor reports it
    screen: bool = False  # a risk screen (C-SSRS), not ideation: never unclear on its own


# A token as the rules see it: a word (with its apostrophe, "doesn't"), a piece of shorthand
# kept whole, or one punctuation mark. Blanks and other characters are skipped.
# "S.I." and "H.I." are how Whisper writes the letters said aloud ("S I slash H I denied"), and
# so is "s-i slash h-i".
# Harm said as a verb and whom it is aimed at ("thoughts of harming herself", "urges to hurt
# anyone", "killing himself") is one mention, as "self-harm" is. So is self-harm said by its
# method ("urges to burn herself", "cut himself", "scratching herself"), but not "cut herself off
# from friends" or "burned himself out".
_SELF = r"(?:him|her|them|my|your|our|one)sel(?:f|ves)\b"
# Violence toward another person, in thought: "images of punching Gareth in the face",
# "thoughts about killing her husband", "urges to hit him". Only as a thought, image, urge or
# fantasy, so "hit her head" is none; a name only in capitals (tokens are matched against the
# words as written for it).
VIOLENT_THOUGHT = (
    r"\b(?:thoughts?|images?|fantas(?:y|ies)|urges?|impulses?)\s++(?:of|about|to)\s++"
    r"(?:(?:really|just|actually|seriously|physically|violently)\s++)?"
    r"(?:kill|hurt|harm|stab|shoot|strangl|punch|attack|hit)\w*"
    r"\s++(?:(?:his|her|their|my)\s++[\w'-]++|him|her|them|someone|somebody|anyone"
    r"|(?-i:[A-Z][a-z]++))\b"
)
_VIOLENT_THOUGHT = re.compile(VIOLENT_THOUGHT, re.IGNORECASE)
HARMING = (
    rf"\b(?:harm|hurt|kill)(?:s|ing|ed)?\s++(?:{_SELF}"
    r"|anyone\b|anybody\b|someone\b|somebody\b|others\b|each\s++other\b)"
    r"|\b(?:cut(?:s|ting)?|burn(?:s|ing|ed|t)?|scratch(?:es|ing|ed)?|hit(?:s|ting)?"
    rf"|punch(?:es|ing|ed)?|bit(?:e|es|ing)?|starv(?:e|es|ing|ed))\s++{_SELF}"
    r"(?!\s++(?:off|out|short)\b)"
    rf"|{VIOLENT_THOUGHT}"
)
_TOKEN = re.compile(
    rf"{HARMING}|"
    r"self[- ]?harm\w*|self[- ]?injur\w*|c-?ssrs\b|[sh]\.i\.|\b[sh]-i\b|\([+-]\)"
    r"|(?:w/o(?:ut)?|h/o|c/o|s/p)\b|w/"
    r"|[^\W_]+(?:['\u2019][^\W_]+)*|[-+/,;:.!?&=]",
    re.IGNORECASE,
)
_PUNCTUATION = frozenset("-+/,;:.!?&=")
_IDEATION = re.compile(
    r"suicid\w*|homicid\w*|si|hi|s\.i\.|h\.i\.|s-i|h-i|ideation|self[- ]?harm\w*"
    rf"|self[- ]?injur\w*|nssi|{HARMING}"
)
_SCREEN = re.compile(r"c-?ssrs")
# "hi" the greeting, not HI: "she noticed the guard come up and just said hi to it" (an IFS
# client greeting a part), "waved hi", "hi there". Capitals ("said HI") are still the shorthand.
GREETING = re.compile(
    r"(?:\b(?:say|says|said|saying|wave|waves|waved|waving)\s++(?:a\s++)?(?:quick\s++)?)"
    r"(?-i:hi|Hi)\b|\b(?-i:hi|Hi)(?=\s++(?:to|there|back)\b)",
    re.IGNORECASE,
)
# What joins the mentions of one list ("SI/HI", "SI, HI, or self-harm", "SI and HI"), and the
# signs that may sit between them ("-SI/-HI", "no SI +HI").
# Spoken: "S I slash H I" is written "SI slash HI" or "S.I. slash H.I.".
_JOINERS = frozenset({"/", ",", "&", "and", "or", "nor", "-", "+", "(+)", "(-)", "slash"})
# Nouns a mention may carry ("suicidal thoughts", "self-harm urges"): part of the list, and
# saying that the thing is there when nothing else says which way it goes.
_NOUNS = frozenset({"thought", "thoughts", "urge", "urges", "attempt", "attempts"})
_CLAUSE_ENDS = frozenset({";", ".", "!", "?", "but", "however", "although", "though", "yet"})
_NEGATORS = frozenset(
    {"no", "not", "none", "never", "nil", "neither", "denies", "denied", "deny", "denying"}
    | {"without", "w/o", "w/out", "negative", "neg", "absent", "(-)"}
    # "-SI" said aloud, as Whisper writes it.
    | {"minus"}
)
_REPORT = re.compile(
    r"reports?|reported|reporting|endorse[sd]?|endorsing|admit(?:s|ted|ting)?|"
    r"acknowledge[sd]?|acknowledging|describe[sd]?|express(?:es|ed)?|disclose[sd]?|states?|"
    r"stated|said|has|had|having|have|thoughts?|urges?|wish(?:es)?|attempt(?:s|ed)?|"
    r"positive|pos|c/o|w/|\(\+\)|plus"
)
# After a mention only the words that say a direction count as one ("SI endorsed"); "SI has
# been assessed" is clear (polarity_unclear always accepted it) but reports nothing. The typed
# values ("SI: pos", "SI present", "SI +") only right after it: "dies SI at present" is a
# misheard denial, and must stay unclear.
_REPORT_AFTER = re.compile(r"reported|endorsed?|endorses|admitted|acknowledged|expressed|disclosed")
_VALUE_AFTER = frozenset({"present", "positive", "pos", "yes", "(+)", "+"})
_LINKS_AFTER = frozenset({"is", "was", "are", "were", "-", ":", "="})
_HISTORY = frozenset(
    {"hx", "h/o", "s/p", "history", "historical", "prior", "past", "previous", "previously"}
    | {"lifetime", "remote"}
)
_STATED = frozenset({"contracted"})
# "SI w/ plan", "SI without intent": words that qualify ideation that is there.
_QUALIFIERS = frozenset({"w/", "w/o", "w/out", "with", "without"})
_QUALIFIED = frozenset({"plan", "plans", "intent", "means"})
_WEAK_REPORT = frozenset({"passive", "active"})
# "passive" and a history word count only where they open their part of the sentence, after at
# most these words ("passive SI", "Pt has a hx of SI", "Anxious, passive SI"): a spoken "denies
# active suicidal ideation" that Whisper turns into "dies active suicidal ideation" must stay
# unclear, not become a report, nor "dies past suicidal ideation" a history.
_LEADERS = frozenset(
    {"pt", "pts", "client", "patient", "the", "a", "she", "he", "they", "has", "had", "have"}
    | {"with", "w/", "significant", "notable", "remarkable", "known", "for", "of", "risk"}
)
# Words that may stand between a negator and the report word it negates ("does not report",
# "no longer endorses", "denies any thoughts").
_AUXILIARIES = frozenset(
    {"do", "does", "did", "is", "was", "has", "have", "had", "been", "any", "longer"}
    | {"currently", "ever"}
)
# How far a polarity word may be from its list, in words (as polarity_unclear always looked:
# four before, three after; joining words and "passive"/"active" are not counted), and how many
# auxiliaries a negator reaches across to a report word.
_BEFORE, _AFTER, _NEGATED_REPORT = 4, 3, 2


@dataclass(frozen=True, slots=True)
class _Token:
    word: str  # lower-cased
    start: int
    end: int
    is_word: bool  # not a punctuation mark
    mention: bool  # of ideation, self-harm or a screen
    screen: bool


def _tokens(text: str) -> list[_Token]:
    greetings = [m.span() for m in GREETING.finditer(text)]
    tokens = []
    for match in _TOKEN.finditer(text):
        word = match.group().lower()
        screen = _SCREEN.fullmatch(word) is not None
        mention = screen or _IDEATION.fullmatch(word) is not None
        mention = mention or _VIOLENT_THOUGHT.fullmatch(match.group()) is not None
        if mention and word == "hi" and any(a <= match.start() < b for a, b in greetings):
            mention = False
        tokens.append(
            _Token(word, match.start(), match.end(), word not in _PUNCTUATION, mention, screen)
        )
    return tokens


def _negates(word: str) -> bool:
    return word in _NEGATORS or word.endswith(("n't", "n\u2019t"))


def _ends_clause(tokens: list[_Token], i: int) -> bool:
    """Whether tokens[i] ends a clause: ";", ".", "but", ... or the comma of ", and"."""
    word = tokens[i].word
    if word in _CLAUSE_ENDS:
        return True
    return word == "," and i + 1 < len(tokens) and tokens[i + 1].word in {"and", "but"}


def _sign(tokens: list[_Token], i: int) -> Polarity | None:
    """The sign written on the mention tokens[i]: "-SI" (touching), "+SI" or "+ SI", "(-) SI"."""
    if i == 0:
        return None
    before, mention = tokens[i - 1], tokens[i]
    gap = mention.start - before.end
    if before.word == "-" and gap == 0:
        # A hyphen inside a word ("non-SI") is no sign: only one after a blank or a mark.
        inside = i > 1 and tokens[i - 2].end == before.start and tokens[i - 2].is_word
        return None if inside else Polarity.DENIED
    if before.word in {"+", "(+)"} and gap <= 1:
        return Polarity.REPORTED
    if before.word == "(-)" and gap <= 1:
        return Polarity.DENIED
    return None


def _word_kind(tokens: list[_Token], i: int) -> Polarity | None:
    """What the word tokens[i], said before a mention, makes of it."""
    word = tokens[i].word
    if _negates(word):
        return Polarity.DENIED
    if word in _STATED:
        return Polarity.STATED
    if _REPORT.fullmatch(word) is None:
        return None
    # "doesn't report SI", "did not endorse SI", "denies having SI", "no thoughts of SI": a
    # negator right before the report word, past at most a couple of auxiliaries. Only that
    # close: in "denies depression, reports SI" the denial is of the depression.
    for j in range(i - 1, max(-1, i - 2 - _NEGATED_REPORT), -1):
        if _negates(tokens[j].word):
            return Polarity.DENIED
        if tokens[j].word not in _AUXILIARIES:
            break
    return Polarity.REPORTED


@dataclass(frozen=True)
class _Before:
    polarity: Polarity | None
    across_comma: bool  # a comma stands between that word and the list
    weak: bool  # "passive" or "active" was passed on the way


def _before(tokens: list[_Token], first: int) -> _Before:
    """The nearest polarity word before the list starting at tokens[first], in its clause."""
    words, comma, weak = 0, False, False
    for j in range(first - 1, -1, -1):
        if _ends_clause(tokens, j) or words >= _BEFORE:
            break
        token = tokens[j]
        comma = comma or token.word == ","
        if not token.is_word:
            continue
        kind = _word_kind(tokens, j)
        if kind is not None:
            return _Before(kind, comma, weak)
        if token.word in _HISTORY and _opens(tokens, j):
            return _Before(Polarity.HISTORY, comma, weak)
        if token.word in _WEAK_REPORT and _opens(tokens, j):
            weak = True
        elif token.word not in _JOINERS and token.word not in _WEAK_REPORT:
            words += 1
    return _Before(None, comma, weak)


def _opens(tokens: list[_Token], j: int) -> bool:
    """Whether tokens[j] opens its part of the sentence: only leaders ("pt has a") stand between
    it and the start, a clause's end or a mark (",", ":")."""
    for k in range(j - 1, -1, -1):
        token = tokens[k]
        if not token.is_word and token.word not in {"/", "&"}:
            return True
        if token.word not in _LEADERS:
            return _ends_clause(tokens, k)
    return True


def _after(tokens: list[_Token], last: int) -> Polarity | None:
    """The first polarity word after the list ending at tokens[last], before a comma."""
    words, first = 0, True
    for j in range(last + 1, len(tokens)):
        token = tokens[j]
        word = token.word
        if word == "," or _ends_clause(tokens, j) or words >= _AFTER:
            break
        if word in _VALUE_AFTER and first:
            return Polarity.REPORTED  # "SI +", "SI: pos", "SI present"
        if word in _LINKS_AFTER:
            continue
        first = False
        if not token.is_word:
            continue
        words += 1
        if word in _QUALIFIERS and {t.word for t in tokens[j + 1 : j + 3]} & _QUALIFIED:
            return Polarity.REPORTED  # "SI w/o plan": the ideation is there
        if _negates(word):
            return Polarity.DENIED
        if _REPORT_AFTER.fullmatch(word) is not None:
            return Polarity.REPORTED
        if _REPORT.fullmatch(word) is not None or word in _STATED:
            return Polarity.STATED
    return None


def _list_end(tokens: list[_Token], first: int) -> int:
    """The last token of the list that starts with the mention tokens[first]. A list holds
    ideation or a screen, never both."""
    screen = tokens[first].screen
    last = first
    for j in range(first + 1, len(tokens)):
        token = tokens[j]
        if (token.mention and token.screen == screen) or token.word in _NOUNS:
            last = j
        elif _carries_on(tokens, j):
            continue  # "denied suicidal ideation or thoughts of self-harm": one list
        elif _ends_clause(tokens, j) or (
            token.word not in _JOINERS and token.word not in _WEAK_REPORT
        ):
            break
    return last


# "thoughts of self-harm", "urges to self-harm": the noun's link to the mention it is about.
_NOUN_LINKS = frozenset({"of", "about", "to"})


def _carries_on(tokens: list[_Token], j: int) -> bool:
    """Whether tokens[j] links a noun of the list to the mention after it ("thoughts of")."""
    return (
        tokens[j].word in _NOUN_LINKS
        and tokens[j - 1].word in _NOUNS
        and j + 1 < len(tokens)
        and tokens[j + 1].mention
    )


# A risk sentence is read twice (is it unclear? what does it report?), and a typed note may
# repeat one thousands of times: each text is read once. The mentions are frozen, the tuple too.
@functools.lru_cache(maxsize=256)
def read_mentions(text: str) -> tuple[Mention, ...]:
    """Every mention of ideation, self-harm or a risk screen in `text`, with its polarity."""
    return tuple(_mentions(text))


def _mentions(text: str) -> list[Mention]:
    tokens = _tokens(text)
    found: list[Mention] = []
    i = 0
    while i < len(tokens):
        if tokens[i].mention:
            last = _list_end(tokens, i)
            found.extend(_read_list(text, tokens, i, last))
            i = last + 1
        else:
            i += 1
    return found


def _read_list(text: str, tokens: list[_Token], first: int, last: int) -> list[Mention]:
    before = _before(tokens, first)
    after = _after(tokens, last)
    # "SI: none HI: endorsed": the word after a colon is the mention's own value.
    colon = last + 1 < len(tokens) and tokens[last + 1].word in {":", "="}
    members = [j for j in range(first, last + 1) if tokens[j].mention]
    signs = [_sign(tokens, j) for j in members]
    list_sign = next((s for s in signs if s is not None), None)
    # "suicidal thoughts", "self-harm urges": said to be there, when nothing says otherwise.
    weak = before.weak or any(tokens[j].word in _NOUNS for j in range(first, last + 1))
    found: list[Mention] = []
    comma = before.across_comma
    previous = first
    for member, sign in zip(members, signs, strict=True):
        # A comma in the list before this mention parts it from the word before the list too.
        comma = comma or any(tokens[j].word == "," for j in range(previous, member))
        previous = member
        polarity = sign or _chosen(before.polarity, after, after_wins=colon or comma)
        if polarity is None:
            polarity = list_sign or (Polarity.REPORTED if weak else None)
        token = tokens[member]
        found.append(
            Mention(
                text[token.start : token.end],
                token.start,
                token.end,
                polarity,
                screen=token.screen,
            )
        )
    return found


def _chosen(
    before: Polarity | None, after: Polarity | None, *, after_wins: bool
) -> Polarity | None:
    if before is not None and after is not None:
        return after if after_wins else before
    return before if before is not None else after
