"""The risk section: what the dictation says about suicide, homicide, self-harm and safety.

Never inferred: when the dictation says nothing about risk, the draft says so and raises a
flag; it never writes "denies SI" on its own. "ideation" alone counts: Whisper mishears
"denies suicidal ideation" ("dies to his idle ideation") but keeps that word (make eval). So does
a risk screen (the C-SSRS, "CSSRS" typed). Which way each mention goes, in words or in
clinicians' shorthand ("SI/HI denied", "-SI", "+SI", "hx of SI"), is read by
appliance.drafting.risk_polarity.
"""

from __future__ import annotations

import re

from appliance.drafting.risk_polarity import GREETING, HARMING, Polarity, read_mentions
from appliance.drafting.segment import Sentence

# Passive ideation in the words clients use, as the C-SSRS's first question asks about it
# ("wished you were dead or wished you could go to sleep and not wake up"): a wish to be dead,
# to die, not to wake up, to be better off dead, and the ways clinicians write down what
# clients said of it (others "better off without me", "no reason to live", "life isn't worth
# living", "doesn't want to be here anymore", "wouldn't mind if she didn't wake up", "it would
# be easier not to wake up", "it wouldn't matter if I just disappeared"). Some
# near misses are left out on purpose: "better off without him" alone is said of a partner
# left behind, so the third person counts only after those who would be better off ("her
# family would be better off without her"); "doesn't want to live with her mother" and
# "thoughts of dying" (a panic attack's fear) are not death wishes. Each gap is bounded (a few
# words), so no text makes it backtrack.
_PERSON = r"(?:i|he|she|they)"
_GAP = r"(?:\W+\w+){0,4}?\W+"
_OTHERS = (
    r"(?:everyone|everybody|family|kids|children|people|parents|friends|world|husband|wife"
    r"|partner|son|daughter|they)"
)
DEATH_WISH = re.compile(
    rf"\b(?:wish(?:es|ed|ing)?\b{_GAP}(?:dead|die|not wake up|never wake up|never been born)\b"
    r"|want(?:s|ed|ing)? to die\b|better off dead\b"
    r"|(?:go|went|going) to sleep and (?:not|never) wake up\b"
    r"|end (?:my|his|her|their) (?:own )?life\b"
    r"|better off without me\b"
    rf"|{_OTHERS}\b{_GAP}better off without (?:me|him|her|them)\b"
    rf"|better off (?:if|when) {_PERSON}\b{_GAP}(?:dead|died|gone|wake up|alive|around|here)\b"
    rf"|(?:wouldn't|would not|won't|will not) mind (?:dying|if {_PERSON}\b{_GAP}"
    r"(?:died|dead|wake up))\b"
    r"|no (?:reason|point) (?:in |to )?(?:living|live|go(?:ing)? on)\b|nothing to live for\b"
    r"|(?:life|living) (?:isn't|wasn't|is not|was not|is no longer|was no longer)"
    r"(?: really)? worth (?:living|it)\b|(?:not|n't|no longer) (?:really )?worth living\b"
    r"|(?:tired|sick) of (?:living|being alive)\b"
    r"|(?:don't|doesn't|didn't|do not|does not|did not) want to (?:be alive|exist"
    r"|live(?!\s+\w)|live any ?more|be here any ?more|be around any ?more)\b"
    r"|thoughts? (?:of|about) (?:being dead|not being (?:here|around|alive))\b"
    # "it would be easier not to wake up", "easier if I just didn't wake up"
    # ("easier not to wake up so early" is about mornings)
    r"|easier (?:not to (?:wake up|be (?:here|around|alive))|if "
    rf"{_PERSON}\b{_GAP}(?:didn't|did not|never|wasn't|weren't|was not|were not) "
    r"(?:wake up|here|around|alive))\b(?!\s+(?:so|too|early|earlier|at|before|until|in)\b)"
    # "it wouldn't matter if she just disappeared" (not "disappeared from the group chat")
    rf"|(?:wouldn't|would not|doesn't|does not) matter if {_PERSON}\b{_GAP}"
    r"(?:disappeared|died|was dead|were dead|was gone|were gone|wasn't here|weren't here)"
    r"(?!\s+(?:from|for)\b))",
    re.IGNORECASE,
)
# "Cutting" is self-harm, but not "cutting down on crisis calls" (a DBT goal), "cutting back
# on drinking" or "cutting class": the words after it that make it something else.
_NOT_SELF_HARM_CUTTING = r"(?!\s++(?:down|back|out|off|ties|corners|costs|class(?:es)?|school)\b)"
RISK_PATTERN = re.compile(
    rf"\b(suicid\w*|self[- ]harm\w*|self[- ]injur\w*|nssi\b|"
    rf"cutting{_NOT_SELF_HARM_CUTTING}|homicid\w*|"
    # "kill herself", "hurt others": HARMING, below.
    r"safety plan\w*|SI\b|HI\b|overdos\w*|harm to others|"
    r"crisis line|988|lethal means|firearms?|plan or intent|ideation|c-?ssrs|[SH]\.I\.|\b[SH]-I\b|"
    # The clinician's own word on risk: "No safety concerns.", "no risk concerns today", "no
    # acute risk", "risk assessment completed".
    r"(?:safety|risk)\s++(?:concerns?|issues?)\b|(?:acute|imminent)\s++risk\b|"
    r"risk\s++(?:level|assessment|screen(?:ing)?)\b|"
    # DBT's "urges to cut": cutting as self-harm with no one named.
    rf"urges?\s++to\s++cut\b{_NOT_SELF_HARM_CUTTING}(?!\s++(?:up|in|through|the|a|an|his|her)\b))"
    rf"|{HARMING}",
    re.IGNORECASE,
)
# Words that, in the few before a death wish, deny it ("denies any wish to be dead").
_DENIALS = re.compile(
    r"\b(?:no|not|never|denies|denied|deny|denying|without|none)\b|n't\b", re.IGNORECASE
)
_DENIAL_REACH = 40  # characters before the wish, within its clause
NOT_ADDRESSED = "Not addressed in dictation."
# The flag on a statement that reports current risk ("+SI", "endorses HI"): not an error to fix,
# so it does not block signing, but the clinician is shown it before signing.
RISK_REPORTED = "risk_reported"


def risk_terms(text: str) -> list[re.Match[str]]:
    """RISK_PATTERN's matches in `text`, less the greeting "hi" ("just said hi to it")."""
    greetings = [m.span() for m in GREETING.finditer(text)]
    return [
        match
        for match in RISK_PATTERN.finditer(text)
        if not any(start <= match.start() < end for start, end in greetings)
    ]


def is_risk_sentence(sentence: Sentence) -> bool:
    return bool(risk_terms(sentence.text)) or DEATH_WISH.search(sentence.text) is not None


def reported_death_wishes(text: str) -> list[str]:
    """The wishes to be dead a statement reports ("wishes she were dead"), as written; one
    denied in the words just before it ("denies any wish to be dead") is not one."""
    found = []
    for match in DEATH_WISH.finditer(text):
        before = text[max(0, match.start() - _DENIAL_REACH) : match.start()]
        clause = re.split(r"[.;,:]| but ", before)[-1]
        if _DENIALS.search(clause) is None:
            found.append(match.group())
    return found


def polarity_unclear(text: str) -> bool:
    """A risk statement with a mention of ideation or self-harm that has no denial or report
    in its own clause. Whisper turns the spoken "denies" into "dies" or "the high" in most of
    the eval's dictations (5 of 6 with base), which leaves a statement that says neither; that
    is worth a flag of its own. ("Feels safe" says nothing about which way the ideation goes,
    so "safe" is no polarity word.)

    A statement that speaks only of a history ("hx of SI") says neither about now, and is
    flagged as it always was; with a current denial or report ("hx of SI, denies current SI")
    it is clear. A risk screen named without a result ("C-SSRS completed") is not unclear: it
    mentions no ideation."""
    ideation = [m for m in read_mentions(text) if not m.screen]
    if any(m.polarity is None for m in ideation):
        return True
    history = any(m.polarity is Polarity.HISTORY for m in ideation)
    return history and all(m.polarity is Polarity.HISTORY for m in ideation)


def reported_risk(text: str) -> list[str]:
    """The mentions a risk statement reports as current, as written ("+SI", "endorses HI",
    "passive SI", "C-SSRS positive" give "SI", "HI", "SI", "C-SSRS"; words next to each other
    are one: "suicidal ideation"), each once. A denial ("SI/HI denied"), a history ("hx of SI")
    or an unclear mention is not one."""
    spans: list[tuple[int, int]] = []
    for mention in read_mentions(text):
        if mention.polarity is not Polarity.REPORTED:
            continue
        if spans and not text[spans[-1][1] : mention.start].strip():
            spans[-1] = (spans[-1][0], mention.end)
        else:
            spans.append((mention.start, mention.end))
    return list(dict.fromkeys(text[start:end] for start, end in spans))


def reported_risk_message(text: str) -> str | None:
    """The message of the risk_reported flag for a risk statement, or None when it reports no
    current risk. The same words wherever it is raised (drafting, and again after an edit), so
    that an acknowledged flag stays acknowledged."""
    reported = [*reported_risk(text), *reported_death_wishes(text)]
    if not reported:
        return None
    return (
        f"Reported risk ({', '.join(reported)}): review the risk assessment and safety plan "
        "before signing."
    )
