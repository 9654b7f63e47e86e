"""Note formats: named sections, each with guidance and the cues that place a sentence there.

Every format also gets a Risk section (appliance.drafting.risk), whatever its own sections are.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from appliance.drafting.placement import (
    ASSESSMENT,
    GOAL,
    INTERVENTION,
    OBSERVATION,
    PLAN,
    REPORT,
    RESPONSE,
    SESSION,
)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    guidance: str
    # Words that, found in a sentence, point it to this section (deterministic routing cues).
    # A cue is found inside words ("improv" in "improved") unless written between blanks
    # (" hx "): then it must be a word of its own (CueText says how), as typed
    # shorthand must be, being short enough to hide inside other words.
    cues: tuple[str, ...]
    # What the sentences it holds do (appliance.drafting.placement.CONCEPTS): the concepts
    # whose home this section is, for the learned classifier. () for a custom section that names
    # no built-in concept: only its cues and the model place sentences there.
    concepts: tuple[str, ...] = ()


@dataclass(frozen=True)
class NoteFormat:
    key: str
    title: str
    sections: tuple[Section, ...]

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    def concept_homes(self) -> dict[str, str]:
        """Concept -> the key of the section it goes to (the first that claims it)."""
        homes: dict[str, str] = {}
        for section in self.sections:
            for concept in section.concepts:
                homes.setdefault(concept, section.key)
        return homes


_REPORT = (
    "reported",
    "reports",
    "said",
    "stated",
    # Clipped: 'States "nobody at work would notice if I left."'
    " states ",
    "described",
    "shared",
    "complained",
    "feels",
    "felt",
    "sleep",
    "slept",
    "mood",
    " week ",
    " weeks ",
    " weekend ",
    " weekends ",
    "since last session",
    # Typed shorthand: "pt c/o poor sleep", "hx of panic attacks", "h/o MDD".
    " c/o ",
    " hx ",
    " h/o ",
)
_OBSERVE = (
    "appeared",
    "presented",
    "affect",
    "observed",
    "eye contact",
    "oriented",
    "speech was",
    "phq-9",
    "gad-7",
    "score",
    "scored",
    "sud",
    "voc",
    "tearful",
    "engaged",
)
_ASSESS = (
    "progress",
    "improv",
    "consistent with",
    "suggests",
    "assessment",
    "remains",
    "symptoms",
    "diagnosis",
    "meets criteria",
    "insight",
    "distortion",
    "pattern",
    # The clinician saying it is their reading: "What I'm seeing is that ...", "My impression".
    "what i'm seeing",
    "my impression",
    "my sense is",
    "formulation",
    "clinically",
    # "dx: MDD, recurrent", "r/o GAD". A label ("Dx:", "HW:") counts twice: it names its
    # section outright, over a cue of another section in its text ("HW: thought record").
    " dx ",
    "dx:",
    " ddx ",
    " r/o ",
)
_INTERVENE = (
    "we practiced",
    "we worked on",
    "we spent time on",
    "we focused on",
    "practiced",
    "reviewed",
    "introduced",
    "revisited",
    "session focused on",
    "taught",
    "used",
    "explored",
    "processed",
    "guided",
    "bilateral",
    "thought record",
    "chain analysis",
    "defusion",
    "unblending",
    "role-play",
    "psychoeducation",
    "validated",
    "dear man",
)
_RESPOND = (
    "responded",
    "was able to",
    "tolerated",
    "engaged well",
    "receptive",
    "reduced",
    "dropped",
    "increased",
    "reported relief",
    "calmer",
    "resisted",
    # A rating clipped to when it was taken: "Mood 5/10 at end.", "SUD 2 by close." The session's
    # end is the response to it; its start (the baseline) is what the client came in with.
    " at end ",
    " by end ",
    " at close ",
    " by close ",
    " at session end ",
)
_PLAN = (
    "homework",
    "next session",
    "plan",
    "will continue",
    "follow up",
    "follow-up",
    "schedule",
    "refer",
    "agreed to",
    "assigned",
    "continue",
    "next week",
    "for the week",
    "coming week",
    # "f/u in 2 wks", "RTC 1 wk", "HW: thought record daily", "cont weekly CBT", "next appt".
    " f/u ",
    " rtc ",
    " hw ",
    "hw:",
    "homework:",
    "committed action:",
    " cont ",
    " next wk ",
    " next appt ",
)
# "treatment goal" twice over ("goal" too): it names the section outright, over a word of
# another section in what the goal says ("... so he can sleep through the night").
_GOAL = ("goal", "treatment goal", "treatment plan", "objective", "working toward", "aim")

# The concepts' homes follow how most therapy notes are written (tests/fixtures/eval/cases.json's
# "labelling" says it per format): SOAP puts what was done in session, and how the client took
# it, in Objective (its Plan is what comes next); DAP's Data holds everything that happened in
# the session; BIRP's Response and GIRP's Response take the clinician's view of progress.
# BIRP's and GIRP's Intervention: the session line and what the clinician did.
_INTERVENTION = Section(
    "intervention", "Intervention", "What the clinician did.", _INTERVENE, (SESSION, INTERVENTION)
)
SOAP = NoteFormat(
    "soap",
    "SOAP",
    (
        Section(
            "subjective",
            "Subjective",
            "What the client reported, in their words.",
            _REPORT,
            (REPORT,),
        ),
        Section(
            "objective",
            "Objective",
            "What the clinician observed and measured, and what was done in session.",
            _OBSERVE + _INTERVENE,
            (SESSION, OBSERVATION, INTERVENTION, RESPONSE),
        ),
        Section(
            "assessment",
            "Assessment",
            "The clinician's interpretation and progress.",
            _ASSESS,
            (ASSESSMENT, GOAL),
        ),
        Section("plan", "Plan", "Homework, next steps, next session.", _PLAN, (PLAN,)),
    ),
)
DAP = NoteFormat(
    "dap",
    "DAP",
    (
        Section(
            "data",
            "Data",
            "What was reported, observed and done in session.",
            _REPORT + _OBSERVE + _INTERVENE,
            (SESSION, REPORT, OBSERVATION, INTERVENTION, RESPONSE),
        ),
        Section(
            "assessment",
            "Assessment",
            "Interpretation and progress.",
            _ASSESS + _RESPOND,
            (ASSESSMENT, GOAL),
        ),
        Section("plan", "Plan", "Homework, next steps, next session.", _PLAN, (PLAN,)),
    ),
)
BIRP = NoteFormat(
    "birp",
    "BIRP",
    (
        Section(
            "behavior",
            "Behavior",
            "Presentation, report and observed behaviour.",
            _REPORT + _OBSERVE,
            (REPORT, OBSERVATION),
        ),
        _INTERVENTION,
        Section(
            "response",
            "Response",
            "How the client responded.",
            _RESPOND + _ASSESS,
            (RESPONSE, ASSESSMENT),
        ),
        Section("plan", "Plan", "Homework, next steps, next session.", _PLAN, (PLAN, GOAL)),
    ),
)
GIRP = NoteFormat(
    "girp",
    "GIRP",
    (
        Section("goals", "Goals", "The treatment goals addressed.", _GOAL, (GOAL,)),
        _INTERVENTION,
        Section(
            "response",
            "Response",
            "How the client responded.",
            _RESPOND + _REPORT + _OBSERVE,
            (REPORT, OBSERVATION, RESPONSE, ASSESSMENT),
        ),
        Section("plan", "Plan", "Homework, next steps, next session.", _PLAN, (PLAN,)),
    ),
)
FORMATS = {f.key: f for f in (SOAP, DAP, BIRP, GIRP)}

# Every character but a word's, "/" ("f/u"), "+" and "-" ("follow-up") is a blank to the
# whole-word cues: "HW:" is " hw ", "(f/u)" " f/u ". One character for one, so that no
# punctuation joins two words a cue names apart.
_NOT_CUE_TEXT = re.compile(r"[^\w/+-]")


@dataclass(frozen=True)
class CueText:
    """A sentence as cues look at it, made once for all the sections that score it."""

    lowered: str
    spaced: str  # for the whole-word cues

    @classmethod
    def of(cls, text: str) -> CueText:
        lowered = text.lower()
        return cls(lowered, f" {_NOT_CUE_TEXT.sub(' ', lowered)} ")

    def has(self, cue: str) -> bool:
        return cue in (self.spaced if cue[:1] == " " else self.lowered)

    def count(self, cues: tuple[str, ...]) -> int:
        """How many of `cues` the sentence has (each counts once)."""
        return sum(self.has(cue) for cue in cues)


class CueIndex:
    """Every section's cues of one format, each distinct cue looked for once per sentence.

    Every sentence of a draft is scored against every section, and the sections share many cues
    (DAP's Data holds the report, observation and intervention cues; SOAP's Plan the
    intervention ones): looking for each cue once and counting per section from what was found
    keeps the drafting of a 50,000-character note of one-word sentences, the hostile-text
    test's worst case, as fast as it was before the whole-word cues came in.
    """

    def __init__(self, sections: tuple[Section, ...]) -> None:
        self._sections = tuple((s.key, frozenset(s.cues)) for s in sections)
        cues = tuple(dict.fromkeys(cue for s in sections for cue in s.cues))
        self._plain = tuple(cue for cue in cues if cue[:1] != " ")
        self._whole = tuple(cue for cue in cues if cue[:1] == " ")

    def scores(self, sentence: str) -> dict[str, int]:
        """Section key -> how many of its cues the sentence has."""
        if not any(character.isalpha() for character in sentence):
            return {key: 0 for key, _ in self._sections}  # every cue has a letter
        return dict(self._scores(sentence))  # a copy: the cached one is shared

    # A typed note that repeats a sentence thousands of times is scored once per sentence.
    @functools.lru_cache(maxsize=256)  # noqa: B019 (one index per format, kept for good)
    def _scores(self, sentence: str) -> dict[str, int]:
        text = CueText.of(sentence)
        found = {cue for cue in self._plain if cue in text.lowered}
        found.update(cue for cue in self._whole if cue in text.spaced)
        return {key: len(found & cues) for key, cues in self._sections}


# Bounded: an admin's custom templates make formats of their own (equal snapshots are equal).
@functools.lru_cache(maxsize=64)
def cue_index(note_format: NoteFormat) -> CueIndex:
    return CueIndex(note_format.sections)


# The core cues of each built-in section's concept, for custom templates whose section titles
# name one. Built-in formats widen some of these (SOAP's Plan also takes interventions because
# SOAP has no Intervention section); a custom template may have both, so the narrow set is
# reused and each sentence still has one clear home.
CONCEPT_CUES: dict[str, tuple[str, ...]] = {
    "subjective": _REPORT,
    "objective": _OBSERVE,
    "assessment": _ASSESS,
    "plan": _PLAN,
    "data": _REPORT + _OBSERVE + _INTERVENE,
    "behavior": _REPORT + _OBSERVE,
    "intervention": _INTERVENE,
    "response": _RESPOND,
    "goals": _GOAL,
}
# The same for the learned classifier: the concepts each named section's sentences do.
CONCEPT_CLASSES: dict[str, tuple[str, ...]] = {
    "subjective": (REPORT,),
    "objective": (OBSERVATION, SESSION),
    "assessment": (ASSESSMENT,),
    "plan": (PLAN,),
    "data": (SESSION, REPORT, OBSERVATION, INTERVENTION, RESPONSE),
    "behavior": (REPORT, OBSERVATION),
    "intervention": (INTERVENTION, SESSION),
    "response": (RESPONSE,),
    "goals": (GOAL,),
}
