"""The risk section: what the dictation says about suicide, homicide, self-harm and safety.

Never inferred: when the dictation says nothing about risk, the draft says so and raises a
flag; it never writes "denies SI" on its own. "ideation" alone counts: Whisper mishears
"denies suicidal ideation" ("dies to his idle ideation") but keeps that word (make eval).
"""

from __future__ import annotations

import re

from appliance.notes.segment import Sentence

RISK_PATTERN = re.compile(
    r"\b(suicid\w*|self[- ]harm\w*|cutting|kill (?:him|her|my|them)sel\w*|homicid\w*|"
    r"safety plan\w*|SI\b|HI\b|overdos\w*|harm (?:to )?others|hurt (?:him|her|them)sel\w*|"
    r"crisis line|988|lethal means|plan or intent|ideation)",
    re.IGNORECASE,
)
NOT_ADDRESSED = "Not addressed in dictation."


def is_risk_sentence(sentence: Sentence) -> bool:
    return RISK_PATTERN.search(sentence.text) is not None
