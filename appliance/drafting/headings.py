"""Section headings the clinician says or types: "Subjective. She reports ...", "Okay, plan:
homework is ...", "For the intervention, we ...", "A: improving".

Many clinicians dictate a note section by section, naming each as they go, and typed notes
often carry "S:", "O:", "A:", "P:". The heading says where its own sentence belongs, whatever
else the sentence says ("Assessment, I should have said this before the plan, panic is
improving" is the assessment), and leans on the sentences after it, up to the next heading,
where nothing surer decides (appliance.drafting.draft). Only the titles of the note's own
sections are headings: a SOAP clinician who says "Response." names no SOAP section.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from appliance.drafting.formats import FORMATS, NoteFormat

# Said before a heading without changing it: "Okay, plan:", "And for the assessment,", "Moving
# on to the response.", "Um, objective."
_LEAD_IN = (
    r"(?:(?:okay|ok|so|um|uh|and|now|alright|all\s+right|right|then|next)[,.]?\s+)*"
    r"(?:(?:moving\s+on\s+to|on\s+to|going\s+to|for|on|under|in)\s+(?:the\s+|my\s+)?)?"
)
# After the title: "Goal first.", "Plan section:", "Response now,"; then the heading's own end.
# A title followed by words of its sentence ("Plan is to continue", "Response to exposure was
# strong", "Data suggest") is not a heading: the end must be a stop, colon, comma, dash or the
# sentence's end.
_TAIL = r"(?:\s+(?:first|section|part|next|now|then|here))?\s*(?:[.:,;]|\s-\s|-\s|$)"


def _title_forms(title: str) -> list[str]:
    """The title as it may be said: "Goals" as "goal", "Behavior" as "behaviour", "Intervention"
    as "interventions"."""
    lowered = " ".join(title.lower().split())
    forms = {lowered}
    if lowered.endswith("s"):
        forms.add(lowered[:-1])
    else:
        forms.add(lowered + "s")
    if "behavior" in lowered:
        forms |= {form.replace("behavior", "behaviour") for form in forms}
    return sorted(forms, key=len, reverse=True)


@lru_cache(maxsize=64)
def _heading_patterns(form: NoteFormat) -> tuple[tuple[re.Pattern[str], str], ...]:
    patterns = []
    for section in form.sections:
        titles = "|".join(
            r"\s+".join(re.escape(word) for word in title.split())
            for title in _title_forms(section.title)
        )
        patterns.append(
            (re.compile(rf"^{_LEAD_IN}(?:{titles}){_TAIL}", re.IGNORECASE), section.key)
        )
    # A letter stands for its section only where no other section of the note starts with it
    # (SOAP's S, O, A, P; BIRP's B, I, R, P), and only typed with its colon: "A: improving".
    initials = [section.title[:1].lower() for section in form.sections]
    for section, initial in zip(form.sections, initials, strict=True):
        if initial.isalpha() and initials.count(initial) == 1:
            patterns.append((re.compile(rf"^{re.escape(initial)}\s*:", re.IGNORECASE), section.key))
    return tuple(patterns)


# "Objective: client will identify two automatic thoughts a day", "Objective: complete the diary
# card six days a week" are a treatment plan's objectives, goals, not SOAP's Objective section.
_GOAL_VERBS = (
    "will|to|complete|engage|identify|reduce|increase|decrease|practi[cs]e|use|attend|improve"
    "|develop|learn|maintain|demonstrate|challenge|notice|establish|build"
)
_TREATMENT_OBJECTIVE = re.compile(
    rf"^\W*+objectives?\b[\s:,.-]*+(?:\S+\s+){{0,3}}?(?:{_GOAL_VERBS})\b", re.IGNORECASE
)


# EMDR's third phase is called assessment too: "Assessment: target is the car crash, NC 'I'm
# going to die', SUD 8" sets up the target in session, it does not assess the client.
_ASSESSMENT = re.compile(rf"^{_LEAD_IN}assessment\b", re.IGNORECASE)
_EMDR_PHASE_WORDS = re.compile(
    r"\b(?:target|cognitions?|nc|pc|suds?|voc|image|memory|desensiti[sz]ation|installation"
    r"|body\s++scan|phase)\b",
    re.IGNORECASE,
)


def spoken_heading(text: str, form: NoteFormat) -> str | None:
    """The key of the note's section that `text` opens with the name of, or None."""
    stripped = text.strip()
    if _TREATMENT_OBJECTIVE.match(stripped):
        return None
    if _ASSESSMENT.match(stripped) and _EMDR_PHASE_WORDS.search(stripped):
        return None
    for pattern, key in _heading_patterns(form):
        if pattern.match(stripped):
            return key
    return None


def says_only_its_heading(text: str, form: NoteFormat) -> bool:
    """Whether `text` is a heading and nothing else: "Goals.", "Okay, plan:"."""
    stripped = text.strip()
    for pattern, _ in _heading_patterns(form):
        match = pattern.match(stripped)
        if match is not None:
            return not stripped[match.end() :].strip(" .:,;-")
    return False


# The built-in formats' section titles as they may be said, for cutting a run-on where one is
# said (appliance.drafting.boundaries, which reads a dictation before its format is applied).
_TITLE_WORDS = frozenset(
    form
    for note_format in FORMATS.values()
    for section in note_format.sections
    for form in _title_forms(section.title)
)
_HEADING_LEADS = frozenset({"okay", "ok", "so", "now", "um", "uh", "then", "next"})
_HEADING_PREPOSITIONS = frozenset({"for", "on", "under"})
_MARKS = (",", ":", ".", ";")


def _bare(word: str) -> str:
    return word.strip(".,:;!?\"'()").lower()


def opens_a_heading(words: Sequence[str], gap: int) -> bool:
    """Whether the words after `gap` (cut after word `gap`, itself ending in a mark) name a
    section as a heading: "..., objective, he was ...", "..., okay, plan, homework is ...",
    "..., for the intervention, we ...". The title must end with its own mark, and "and" or
    "or" must not follow it (", response, and engagement" is a list)."""
    if not words[gap].endswith(_MARKS) or _bare(words[gap]) in _HEADING_LEADS:
        return False  # "..., okay, | plan, ..." is cut before "okay", not after it
    at = gap + 1
    while at < len(words) and at - gap <= 2 and _bare(words[at]) in _HEADING_LEADS:
        at += 1
    if at < len(words) and _bare(words[at]) in _HEADING_PREPOSITIONS:
        at += 1
        if at < len(words) and _bare(words[at]) == "the":
            at += 1
    if at + 1 >= len(words) or _bare(words[at]) not in _TITLE_WORDS:
        return False
    return words[at].endswith(_MARKS) and _bare(words[at + 1]) not in ("and", "or")
