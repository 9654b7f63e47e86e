"""Whether a model's rewrite of one dictation sentence may replace it: the deterministic check.

A capable model writes better prose than the clinician's dictated sentence, but it may drop a
number, invent a medication or turn "denies SI" into "reports SI". None of that can be allowed
into a note, and none of it needs judgement to detect, so a rewrite is accepted only when:
  - nothing is invented: grounding finds no specific (number, medication, diagnosis) outside the
    source sentence, no scale score outside its scale appears that the source did not have, no
    risk topic and no negation appears that the source did not have;
  - nothing is dropped: every fact token of the source (numbers, spelled-out numbers included,
    scale names, medications, diagnoses, dates, risk topics, negation and denial words) is still
    there;
  - the polarity of a risk statement is unchanged (same negation words, as many of them);
  - every other content word of the source is still there, and none is added, except the words
    a change of person or reporting verb brings ("we" -> "the clinician and client", "said" ->
    "reported", "score"): make eval found a model dropping "dysregulation", "check the facts"
    and "values compass" with every number intact, and nothing short of this catches that;
  - it is one sane paragraph: not empty, at most ~2x the source, no heading, list or line break.
Word lists stand in for understanding here on purpose: a paraphrase the lists cannot follow is
rejected, and the clinician's sentence is kept. A false rejection costs prose; a false acceptance
would cost a fact.
"""

from __future__ import annotations

import re
from enum import StrEnum

from appliance.drafting.grounding import implausible_scores, specifics, ungrounded
from appliance.drafting.risk import RISK_PATTERN, risk_terms

# The normalisation WER and the eval use ("fourteen" = "14", "PHQ9" = "PHQ-9"); pure Python.
from speech_io.normalise import normalise

MAX_GROWTH = 2
MAX_EXTRA_CHARS = 40
# Scale names as speech_io.normalise leaves them ("PHQ-9" -> "phq", "9"; "C-SSRS" ->
# "c", "ssrs"); the number that follows is checked with the other numbers.
SCALE_NAMES = frozenset(
    {"phq", "gad", "pcl", "sud", "suds", "voc", "bdi", "bai", "ssrs", "cssrs", "bocs", "ybocs"}
    | {"dass", "epds", "asrs", "mdq", "audit", "dast", "ors", "srs", "whodas"}
)
# "may" is left out: it is far more often a verb than a month in dictation.
DATE_WORDS = frozenset(
    {"january", "february", "march", "april", "june", "july", "august", "september"}
    | {"october", "november", "december", "monday", "tuesday", "wednesday", "thursday"}
    | {"friday", "saturday", "sunday", "today", "tonight", "tomorrow", "yesterday"}
)
# Negation and denial words, by what they mean: tense and form may change ("denies" ->
# "denied"), the kind of negation may not ("no SI" -> "not SI" reads the same but is a
# different claim about what was said, so it is rejected rather than argued about).
NEGATIONS = {
    "no": "no",
    "none": "none",
    "nobody": "nobody",
    "nothing": "nothing",
    "not": "not",
    "cannot": "not",
    "deny": "deny",
    "denies": "deny",
    "denied": "deny",
    "denying": "deny",
    "without": "without",
    "never": "never",
    "nor": "nor",
    "neither": "nor",
    "absent": "absent",
    "absence": "absent",
    "negative": "negative",
    "declines": "decline",
    "declined": "decline",
    "decline": "decline",
    "refuses": "refuse",
    "refused": "refuse",
    "refuse": "refuse",
    "lacks": "lack",
    "lacked": "lack",
    "lack": "lack",
}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _words(text: str) -> frozenset[str]:
    """A word list written as prose: a hundred one-word lines would hide what is in it."""
    return frozenset(text.split())


# Function words: free to come and go in a rewrite.
STOPWORDS = _words(
    """a an the and or but if of to in on at for with from by as into onto over under about
    after before during than then so that this these those there here it its is are was were be
    been being am do does did done has have had having will would shall should can could may
    might must he she they them his her hers him i me my we us our you your who whom which what
    when where why how all any some each both either also just very too"""
)
# What turning a dictated sentence into clinical third person adds or swaps: the people, the
# reporting verbs, and a few neutral nouns ("PHQ-9 of 14" -> "a PHQ-9 score of 14").
NARRATION = _words(
    """client clients patient patients clinician clinicians therapist therapists counselor
    report reports reported reporting state states stated say says said describe describes
    described note notes noted indicate indicates indicated share shares shared express
    expresses expressed discuss discusses discussed explain explains explained think thinks
    believe believes believed score scores rating"""
)
# A line that starts like a heading or a list item: "Plan:", "## Risk", "- ", "* ", "**Data**".
# Possessive "\s*+": no alternative starts with a blank, so blanks are never given back.
_HEADING = re.compile(r"^\s*+(?:#|\*\*|[-*•]\s|\d+[.)]\s|([A-Za-z][\w&-]*(?: [\w&-]+){0,2}):)")


class Rejection(StrEnum):
    FORM = "form"  # empty, too long, more than one paragraph, a heading or a list
    INVENTED = "invented"  # a specific, score, risk topic or negation the source does not have
    DROPPED = "dropped"  # a fact token of the source is missing
    POLARITY = "polarity"  # a risk statement's negation changed


def _negations(words: list[str]) -> list[str]:
    found = []
    for word in words:
        if word.endswith("n't"):  # don't, doesn't, can't, won't, wasn't
            found.append("not")
        elif word in NEGATIONS:
            found.append(NEGATIONS[word])
    return found


_RISK_TOPICS = (
    # (prefix of the matched risk term, topic); first match wins, so "si" is not "self".
    ("si", "suicide"),
    ("suicid", "suicide"),
    ("kill", "suicide"),
    ("overdos", "overdose"),
    ("hi", "homicide"),
    ("homicid", "homicide"),
    ("harm", "homicide"),  # "harm to others"
    ("self", "self-harm"),
    ("cutting", "self-harm"),
    ("hurt", "self-harm"),
    ("safety plan", "safety plan"),
    ("crisis line", "crisis line"),
    ("988", "crisis line"),
    ("lethal means", "lethal means"),
    ("plan or intent", "plan or intent"),
)


def _risk_topics(text: str) -> set[str]:
    """What a text says risk is about, so "SI" and "suicidal ideation" are the same topic."""
    topics = set()
    for match in risk_terms(text):
        term = " ".join(match.group(0).lower().split())
        # "ideation" alone is only ever part of "suicidal/homicidal ideation" or a mishearing
        # of it (appliance.drafting.risk): it names no topic of its own.
        topic = next(
            (name for prefix, name in _RISK_TOPICS if term == prefix or term.startswith(prefix)),
            None,
        )
        if topic is not None:
            topics.add(topic)
    return topics


def fact_tokens(text: str) -> set[str]:
    """Numbers, scale names, medications, diagnoses and dates of `text`, as comparable tokens."""
    words = normalise(text)
    tokens = {w for w in words if _NUMBER.fullmatch(w)}
    tokens |= {w for w in words if w in SCALE_NAMES or w in DATE_WORDS}
    tokens |= {s for s in specifics(text) if not s[0].isdigit()}
    return tokens


def _stem(word: str) -> str:
    """A crude stem, enough that "records"/"record" and "practiced"/"practice" compare equal;
    anything it fails to match is a rejection, never an acceptance."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def content_words(text: str) -> set[str]:
    """The stems a rewrite must keep: not function words, not narration, not negations (checked
    on their own) and not risk terms (checked as topics, so "SI" may become "suicidal
    ideation")."""
    without_risk = RISK_PATTERN.sub(" ", text)
    words = (word.removesuffix("'s").strip("'") for word in normalise(without_risk))
    return {
        _stem(word)
        for word in words
        if word
        and word not in STOPWORDS
        and word not in NARRATION
        and word not in NEGATIONS
        and not word.endswith("n't")
    }


def _form_ok(source: str, rewrite: str) -> bool:
    text = rewrite.strip()
    if not text or "\n" in text or len(text) > MAX_GROWTH * len(source.strip()) + MAX_EXTRA_CHARS:
        return False
    heading = _HEADING.match(text)
    if heading is None:
        return True
    # "Homework: walk daily." rewritten as "Homework: the client will walk daily." keeps the
    # clinician's own label; any other leading label is a heading the model added.
    label = heading.group(1)
    return label is not None and source.strip().lower().startswith(label.lower() + ":")


def rejection(source: str, rewrite: str, *, risk: bool) -> Rejection | None:
    """Why `rewrite` may not replace the dictated `source` sentence, or None when it may.

    `risk`: the statement is in the risk section, where a changed negation is a changed
    clinical finding ("denies SI" -> "reports SI"), and is rejected as such.
    """
    if not _form_ok(source, rewrite):
        return Rejection.FORM
    source_words, rewrite_words = normalise(source), normalise(rewrite)
    source_neg, rewrite_neg = _negations(source_words), _negations(rewrite_words)
    if risk and sorted(source_neg) != sorted(rewrite_neg):
        return Rejection.POLARITY
    # Each text's tokens and topics are read once: every reading normalises the whole text.
    source_facts, rewrite_facts = fact_tokens(source), fact_tokens(rewrite)
    if not source_facts <= rewrite_facts or not set(source_neg) <= set(rewrite_neg):
        return Rejection.DROPPED
    source_topics, rewrite_topics = _risk_topics(source), _risk_topics(rewrite)
    if not source_topics <= rewrite_topics:
        return Rejection.DROPPED
    source_content, rewrite_content = content_words(source), content_words(rewrite)
    if not source_content <= rewrite_content:
        return Rejection.DROPPED
    new_scores = {s.lower() for s in implausible_scores(rewrite)} - {
        s.lower() for s in implausible_scores(source)
    }
    if (
        ungrounded(rewrite, source)
        or new_scores
        or not set(rewrite_neg) <= set(source_neg)
        or not rewrite_topics <= source_topics
        or not rewrite_facts <= source_facts
        or not rewrite_content <= source_content
    ):
        return Rejection.INVENTED
    return None
