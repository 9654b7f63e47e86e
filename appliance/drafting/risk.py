"""The risk section: what the dictation says about suicide, homicide, self-harm and safety.

Never inferred: when the dictation says nothing about risk, the draft says so and raises a
flag; it never writes "denies SI" on its own. "ideation" alone counts: Whisper mishears
"denies suicidal ideation" ("dies to his idle ideation") but keeps that word (make eval).
"""

from __future__ import annotations

import re

from appliance.drafting.segment import Sentence

RISK_PATTERN = re.compile(
    r"\b(suicid\w*|self[- ]harm\w*|cutting|kill (?:him|her|my|them)sel\w*|homicid\w*|"
    r"safety plan\w*|SI\b|HI\b|overdos\w*|harm (?:to )?others|hurt (?:him|her|them)sel\w*|"
    r"crisis line|988|lethal means|plan or intent|ideation)",
    re.IGNORECASE,
)
NOT_ADDRESSED = "Not addressed in dictation."


def is_risk_sentence(sentence: Sentence) -> bool:
    return RISK_PATTERN.search(sentence.text) is not None


# Words that say which way a risk statement goes: a denial ("denies SI", "no plan") or a report
# ("reports passive SI", "endorsed thoughts of suicide"). Whisper turns the spoken "denies" into
# "dies" or "the high" in most of the eval's dictations (5 of 6 with base), which leaves a risk
# statement that says neither; that is worth a flag of its own. ("Feels safe" says nothing about
# which way the ideation goes, so "safe" is not one of them.)
_POLARITY = re.compile(
    r"^(denie[sd]|deny(?:ing)?|no|not|none|never|without|negative|absent|"
    r"reports?|reported|reporting|endorse[sd]?|endorsing|admit(?:s|ted)?|acknowledge[sd]?|"
    r"describe[sd]?|express(?:es|ed)?|disclose[sd]?|states?|stated|said|has|had|having|have|"
    r"thoughts?|urges?|wish(?:es)?|attempt(?:s|ed)?|contracted|.*n't)$",
    re.IGNORECASE,
)
_IDEATION = re.compile(r"^(suicid\w*|homicid\w*|SI|HI|ideation|self[- ]harm\w*)$", re.IGNORECASE)
# How near a polarity word must be to count for a mention, and where a clause starts over: "the
# client reports hopeless thoughts, but the eye suicidal ideation" reports the thoughts, not the
# ideation ("denies" misheard), so the search does not reach back across "but" or ", and".
_BEFORE, _AFTER = 4, 3
_CLAUSE_STARTS = frozenset({"but", "however", "although", "though", "yet"})


def polarity_unclear(text: str) -> bool:
    """A risk statement with a mention of ideation or self-harm that has no denial or report
    in its own clause."""
    raw = text.split()
    words = [w.strip(".,;:!?()\"'").lower() for w in raw]
    return any(
        _IDEATION.match(words[i]) and not _has_polarity(raw, words, i) for i in range(len(words))
    )


def _has_polarity(raw: list[str], words: list[str], i: int) -> bool:
    start = max(0, i - _BEFORE)
    for j in range(i - 1, start - 1, -1):
        joined = raw[j].endswith(",") and j + 1 < i and words[j + 1] in {"and", "but"}
        if words[j] in _CLAUSE_STARTS or joined:
            start = j + 1
            break
    end = i + 1
    while end < min(len(words), i + _AFTER + 1) and not raw[end - 1].endswith((",", ".", ";")):
        end += 1
    return any(_POLARITY.match(w) for w in words[start:i] + words[i + 1 : end])
