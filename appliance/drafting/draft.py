"""The draft note: its typed form (Draft, Statement, Flag, with stable ids and a JSON round trip)
and building one from a transcript, so that no fact can be dropped or invented.

With a weak model (the zero-config SmolLM2-135M) the note is built from the clinician's own
sentences: every sentence of the dictation becomes a statement in exactly one section, citing
its span. Deterministic cues choose the section; the model is asked only when the cues do not
decide, and only to pick a section name from a fixed list (schema-constrained). A model can
therefore misplace a sentence, but never drop, alter or invent one. Rewriting into clinical
prose is for a capable model: a later stage (appliance.drafting.rewrite), whose rewrites enter
the draft only when appliance.drafting.faithful accepts them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import count
from typing import Any, Protocol

from appliance.drafting.boundaries import spoken_statements
from appliance.drafting.deadline import Deadline
from appliance.drafting.formats import FORMATS, NoteFormat, cue_index
from appliance.drafting.grounding import implausible_scores, ungrounded
from appliance.drafting.headings import says_only_its_heading, spoken_heading
from appliance.drafting.modalities import FieldValue, extract_fields
from appliance.drafting.placement import (
    GOAL,
    HEADER,
    OBSERVATION,
    RESPONSE,
    likeliest_concept,
    section_probabilities,
    shared_classifier,
)
from appliance.drafting.placement import RISK as RISK_CONCEPT
from appliance.drafting.risk import (
    NOT_ADDRESSED,
    RISK_REPORTED,
    is_risk_sentence,
    polarity_unclear,
    reported_risk_message,
)
from appliance.drafting.segment import Sentence, split_sentences

RISK = "risk"
RISK_TITLE = "Risk"
HEADER_TITLE = "Header"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Span:
        return cls(int(data["start"]), int(data["end"]), str(data["text"]))


@dataclass(frozen=True)
class Statement:
    # "s1", "s2", ... in dictation order; stable for the life of the draft, so an edit, a flag
    # or a page element can name the statement it concerns.
    id: str
    text: str
    provenance: list[Span]
    # "cue", "classifier", "model" or "default": how its section was chosen
    routed_by: str
    # "clinician": `text` is the dictated sentence itself; "model": a capable model's rewrite
    # that appliance.drafting.faithful accepted, and `source_text` is the sentence it replaced.
    written_by: str = "clinician"
    source_text: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], fallback_id: str) -> Statement:
        source = data.get("source_text")
        return cls(
            id=str(data.get("id") or fallback_id),
            text=str(data["text"]),
            provenance=[Span.from_json(span) for span in data["provenance"]],
            routed_by=str(data["routed_by"]),
            written_by=str(data.get("written_by", "clinician")),
            source_text=None if source is None else str(source),
        )


@dataclass(frozen=True)
class Flag:
    id: str  # "f1", "f2", ... in the order raised
    # risk_not_addressed | risk_polarity_unclear | risk_reported | ungrounded | unplaced |
    # implausible_score
    code: str
    message: str
    section: str | None = None
    # The statement's id, for a flag about one statement (None: about the note as a whole, such
    # as a risk section the dictation never addressed, or a draft stored before flags had it).
    statement: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], fallback_id: str) -> Flag:
        section, statement = data.get("section"), data.get("statement")
        return cls(
            id=str(data.get("id") or fallback_id),
            code=str(data["code"]),
            message=str(data["message"]),
            section=None if section is None else str(section),
            statement=None if statement is None else str(statement),
        )


@dataclass
class Draft:
    transcript: str
    modality: str
    note_format: str
    sections: dict[str, list[Statement]]
    placeholders: dict[str, str]
    fields: dict[str, list[FieldValue]]
    flags: list[Flag]
    timings: dict[str, float] = field(default_factory=dict)
    # What the writer stage did (appliance.drafting.rewrite); None when no writer ran.
    rewrite: dict[str, Any] | None = None
    # Key -> title, risk included: custom templates' titles are not in FORMATS, and a page must
    # render a stored draft without looking up a template that may have changed since.
    section_titles: dict[str, str] = field(default_factory=dict)

    def title_of(self, key: str) -> str:
        """A section's title: the draft's own (custom templates' too), else, for drafts stored
        before drafts carried their titles, the built-in format's."""
        if key in self.section_titles:
            return self.section_titles[key]
        form = FORMATS.get(self.note_format)
        builtin = {s.key: s.title for s in form.sections} if form is not None else {}
        return (builtin | {RISK: RISK_TITLE}).get(key) or key.replace("_", " ").capitalize()

    def statements(self) -> Iterator[tuple[str, Statement]]:
        """(section key, statement) in page order."""
        for key, statements in self.sections.items():
            for statement in statements:
                yield key, statement

    def as_json(self) -> dict[str, Any]:
        """The documented shape of `appliance draft --json` (docs/drafting.md)."""
        return {
            "transcript": self.transcript,
            "modality": self.modality,
            "format": self.note_format,
            "sections": {k: [asdict(s) for s in v] for k, v in self.sections.items()},
            "section_titles": self.section_titles,
            "placeholders": self.placeholders,
            "fields": {k: [asdict(f) for f in v] for k, v in self.fields.items()},
            "flags": [asdict(f) for f in self.flags],
            "timings": self.timings,
            "rewrite": self.rewrite,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any], transcript: str | None = None) -> Draft:
        """The draft `as_json` wrote, whatever version stored it. Drafts stored before statements
        and flags had ids get them here, numbered in page order: stable, since a stored draft
        never changes. `transcript`: for a stored draft, which keeps its transcript apart (and
        may outlive it)."""
        numbered = (f"s{n}" for n in count(1))
        sections = {
            str(key): [Statement.from_json(s, next(numbered)) for s in statements]
            for key, statements in document["sections"].items()
        }
        fields = {
            str(name): [FieldValue.from_json(v) for v in values]
            for name, values in document.get("fields", {}).items()
        }
        return cls(
            transcript=transcript if transcript is not None else document.get("transcript", ""),
            modality=str(document["modality"]),
            note_format=str(document["format"]),
            sections=sections,
            placeholders={str(k): str(v) for k, v in document.get("placeholders", {}).items()},
            fields=fields,
            flags=[Flag.from_json(f, f"f{n}") for n, f in enumerate(document.get("flags", []), 1)],
            timings={str(k): float(v) for k, v in (document.get("timings") or {}).items()},
            rewrite=document.get("rewrite"),
            section_titles={str(k): str(v) for k, v in document.get("section_titles", {}).items()},
        )


def _no_limit() -> None:
    """The check of a draft built without a deadline (`appliance draft`, `make eval`, tests)."""


class SectionClassifier(Protocol):
    """Picks a section for a sentence the cues could not place (None: no answer)."""

    def classify(self, sentence: str, sections: Sequence[tuple[str, str]]) -> str | None: ...


def _cue_scores(note_format: NoteFormat, sentence: Sentence) -> dict[str, int]:
    return cue_index(note_format).scores(sentence.text)


# How sure the classifier must be of a section to overrule the cues (make eval's development set
# chose these; docs/drafting.md gives the numbers) ...
CLASSIFIER_OVER_CUES = 0.6
# ... and of the sentence's one likeliest concept: a broad section (DAP's Data holds five
# concepts) can sum to 0.6 from a spread of weak guesses, which must not overrule a clear cue
# ("Cont CBT." is the plan's " cont ").
CONCEPT_OVER_CUES = 0.5
# The note's header: the dictation's first sentences, while the classifier is this sure.
MAX_HEADER_SENTENCES = 2
HEADER_CERTAINTY = 0.5
# Below this, with no cue to agree, the classifier's guess is still where the sentence goes (its
# best guess beats the first section), but it is flagged as unsure.
UNSURE = 0.4


def _route(
    note_format: NoteFormat,
    sentence: Sentence,
    classifier: SectionClassifier | None,
    learned: Mapping[str, float],
    sureness: float = 1.0,
    heading: str | None = None,
    likeliest_home: str | None = None,
) -> tuple[str, str]:
    """(section key, what decided it: "cue", "classifier", "model" or "default").

    `learned`: the concept classifier's section probabilities for the sentence ({} when it has
    none: a custom section set that names no concept, or a sentence without a word), and how
    sure it is of the sentence's single likeliest concept (`sureness`), whose section is
    `likeliest_home` (None where the format has none for it). `heading`: the section the
    clinician last named aloud (appliance.drafting.headings), if any."""
    ranked = sorted(learned, key=lambda key: learned[key], reverse=True)
    confident = bool(ranked) and learned[ranked[0]] >= CLASSIFIER_OVER_CUES
    # Sure of the section and of the concept: no cue could overrule it, so none is looked for
    # (most sentences end here, and cue scoring is most of the rest of the drafting's time).
    if confident and sureness >= CONCEPT_OVER_CUES:
        return ranked[0], "classifier"
    scores = _cue_scores(note_format, sentence)
    best = max(scores.values())
    leaders = [key for key, score in scores.items() if score == best]
    cue_choice = leaders[0] if best > 0 and len(leaders) == 1 else None
    # Under a heading the clinician said ("Assessment, ..."), a sentence that neither the
    # classifier is sure of nor a cue points elsewhere stays where the clinician put it.
    if heading is not None and cue_choice is None:
        return heading, "cue"
    if confident and cue_choice is None:
        return ranked[0], "classifier"
    if cue_choice is not None:
        return cue_choice, "cue"
    # The bundled model is not asked to break the classifier's close calls: on make eval's
    # development set its picks there were right 4 times in 6 and the drafts without it placed
    # as many sentences or more in every format. It is asked where nothing else has a view.
    # Unsure, the classifier's likeliest concept decides, not the section whose concepts add up
    # to most: a broad section (DAP's Data, GIRP's Response) collects the small chances of every
    # concept it holds, and would take "I want to bring in self-as-context next time" (plan
    # 0.38, but data 0.43 from report, observation and response together). On probe
    # dictations written for this (docs/drafting.md), 5 more sentences right from the scripts;
    # the development set did not move.
    if ranked:
        chosen = (
            likeliest_home
            if likeliest_home is not None and likeliest_home in learned
            else ranked[0]
        )
        return chosen, "classifier" if learned[chosen] >= UNSURE else "default"
    if classifier is not None:
        choices = [
            (s.key, s.guidance) for s in note_format.sections if best == 0 or s.key in leaders
        ]
        answer = classifier.classify(sentence.text, choices)
        if answer in {key for key, _ in choices}:
            return str(answer), "model"
    # No cue and no usable answer: the first candidate; still placed, still cited, and flagged.
    return (leaders[0] if best > 0 else note_format.sections[0].key), "default"


class ConceptReader(Protocol):
    """What a sentence does (appliance.drafting.placement.ConceptClassifier, or a test's)."""

    def probabilities(self, texts: Sequence[str]) -> list[dict[str, float]]: ...


def _concepts(reader: ConceptReader, sentences: Sequence[Sentence]) -> list[dict[str, float]]:
    """The concept classifier's probabilities for each sentence ({} where it has none).

    One batch for the whole dictation, each distinct text once: a typed note that repeats a
    sentence thousands of times costs what its distinct sentences cost. A sentence without a
    letter says nothing the classifier could read."""
    readable = list(dict.fromkeys(s.text for s in sentences if any(c.isalpha() for c in s.text)))
    guesses = dict(zip(readable, reader.probabilities(readable), strict=True))
    return [_as_rated_when_taken(s.text, guesses.get(s.text, {})) for s in sentences]


# A rating taken as the session ended, clipped to a line of its own: "Mood six of ten at close.",
# "SUD 2 by end.", "Anxiety four at session end." The classifier reads these as measurements
# (observation), as it does the same rating at the start; but the end's rating is how the client
# responded (BIRP's Response; in SOAP, DAP and GIRP the two concepts share a section).
_RATING_WORDS = r"(?:mood|anxiety|suds?|voc|distress|urges?|stress|anger|shame|sadness|pain)\b"
_SESSION_END_RATING = re.compile(
    r"^\W*+(?:(?:her|his|their|the|client'?s?|pt'?s?)\s++)?"
    rf"{_RATING_WORDS}"
    r"[^.;!?]{0,40}?\b(?:at|by)\s++(?:the\s++)?(?:end|close)(?:\s++of\s++(?:the\s++)?session)?"
    r"[\s.!]*+$"
    r"|^[^.;!?]{0,60}\b(?:at|by)\s++session\s++(?:end|close)[\s.!]*+$",
    re.IGNORECASE,
)
_SESSION_START = re.compile(
    r"\b(?:start|beginning|going in|coming in|came in|walked in|check-?in)\b", re.IGNORECASE
)
_SESSION_END = re.compile(r"\b(?:end|close|coming out|going out|leaving)\b", re.IGNORECASE)
_RATED = re.compile(rf"\b{_RATING_WORDS}", re.IGNORECASE)
_CLIPPED_WORDS = 12  # longer, the sentence says more than the rating
_SHORT_WORDS = 15


def _as_rated_when_taken(text: str, concept: dict[str, float]) -> dict[str, float]:
    """`concept` with observation and response swapped where a short sentence is a rating the
    words date to the session's end (the response) or its start (the baseline) and the
    classifier read it the other way."""
    observed, responded = concept.get(OBSERVATION, 0.0), concept.get(RESPONSE, 0.0)
    words = len(text.split())
    at_end = (
        words <= _CLIPPED_WORDS
        and observed > responded
        and _SESSION_END_RATING.search(text) is not None
        and _SESSION_START.search(text) is None
    )
    # "He came in tense and said his anxiety going in was a seven": the baseline.
    at_start = (
        words <= _SHORT_WORDS
        and responded > observed
        and _RATED.search(text) is not None
        and _SESSION_START.search(text) is not None
        and _SESSION_END.search(text) is None
    )
    if not (at_end or at_start):
        return concept
    swapped = dict(concept)
    swapped[OBSERVATION], swapped[RESPONSE] = responded, observed
    return swapped


def _preamble(sentences: Sequence[Sentence], concepts: Sequence[Mapping[str, float]]) -> int:
    """How many of the first sentences are the note's header ("EMDR session note, client
    J.M."): at most the first two, and only while each reads as one. A sentence that names the
    note type later in a dictation stays where its section is."""
    count = 0
    for concept in concepts[:MAX_HEADER_SENTENCES]:
        if concept.get(HEADER, 0.0) < HEADER_CERTAINTY:
            break
        count += 1
    return count


def _continues_risk(concept: Mapping[str, float]) -> bool:
    """Whether a statement that follows a risk statement reads as risk itself: "No suicidal or
    homicidal thoughts, | she denied both when I asked directly.", "He denies SI. | And there
    is nothing he could use at home." It names no risk of its own, so the cues cannot see it;
    left alone it would be a denial filed under some other heading (risk has no home among the
    format's sections, so the classifier alone cannot send it there)."""
    return likeliest_concept(concept)[0] == RISK_CONCEPT


def _file(
    section: list[Statement],
    statement_id: str,
    routed_by: str,
    sentence: Sentence,
    previous: Sentence | None,
    transcript: str,
) -> Statement:
    """Adds a statement of `sentence` to its section, citing the sentence's span, and returns
    what the section now holds for it.

    A written sentence cut into pieces (a run-on, appliance.drafting.boundaries) was cut so that
    each piece could go to its own section. Where the piece before it, of the same written
    sentence, went to this same section and is still the section's last statement, the two are
    one statement again: the clinician reads the sentence as it was written, with one span."""
    last = section[-1] if section else None
    if (
        last is not None
        and previous is not None
        and previous.written is not None
        and previous.written == sentence.written
        and last.provenance[-1].end == previous.end
    ):
        start = last.provenance[0].start
        text = transcript[start : sentence.end]
        section[-1] = replace(last, text=text, provenance=[Span(start, sentence.end, text)])
        return section[-1]
    span = Span(sentence.start, sentence.end, sentence.text)
    filed = Statement(statement_id, sentence.text, [span], routed_by)
    section.append(filed)
    return filed


def _as_filed(sections: Mapping[str, list[Statement]], transcript: str) -> list[Sentence]:
    """The statements as filed, in the dictation's order, each as the sentence it cites: the
    modality fields are read from these. A run-on's pieces that went to different sections are
    read apart (a cognition does not hold the whole run-on); pieces that went together are read
    as the one sentence they were written as, so a free-text value ("chain analysis of
    Saturday, and the links were ..., ..., and ...") is not cut where the model saw a boundary
    the placement did not need."""
    spans = sorted(
        (statement.provenance[0].start, statement.provenance[-1].end)
        for statements in sections.values()
        for statement in statements
        if statement.provenance
    )
    return [
        Sentence(number, start, end, transcript[start:end])
        for number, (start, end) in enumerate(spans)
    ]


def build_draft(
    transcript: str,
    modality: str,
    note_format: str | NoteFormat,
    classifier: SectionClassifier | None = None,
    *,
    deadline: Deadline | None = None,
    concepts: ConceptReader | None = None,
) -> Draft:
    """`note_format`: a built-in key ("soap") or a NoteFormat (an admin's custom template).
    `classifier`: the language model as a router (None: never asked). `concepts`: the learned
    concept classifier (None: the shipped one, appliance.drafting.placement).
    `deadline`: checked before each sentence and between passes; past it, DraftingTimedOut
    (appliance.drafting.deadline says why a check between steps is enough)."""
    started = time.perf_counter()
    check = deadline.check if deadline is not None else _no_limit
    form = FORMATS[note_format] if isinstance(note_format, str) else note_format
    if not form.sections or any(s.key == RISK for s in form.sections):
        raise ValueError("a note format needs sections of its own; risk is added to every draft")
    reader = concepts if concepts is not None else shared_classifier()
    sentences = spoken_statements(split_sentences(transcript), concepts=reader.probabilities)
    sections: dict[str, list[Statement]] = {s.key: [] for s in form.sections}
    sections[RISK] = []
    flags: list[Flag] = []

    def flag(code: str, message: str, section: str, statement: Statement | None = None) -> None:
        concerns = statement.id if statement is not None else None
        flags.append(Flag(f"f{len(flags) + 1}", code, message, section, concerns))

    learned_concepts = _concepts(reader, sentences) if sentences else []
    homes = form.concept_homes()
    # The header comes first on the page; a template with a Header section of its own keeps it.
    header = next((s.key for s in form.sections if s.key == HEADER), None)
    preamble = _preamble(sentences, learned_concepts)
    if preamble and header is None:
        header = HEADER
        sections = {HEADER: []} | sections
    previous: Sentence | None = None  # the sentence filed last, to join pieces of one sentence
    previous_key: str | None = None
    heading: str | None = None  # the section the clinician last named, up to the next one
    heading_reach: int | None = None  # how many sentences after it a heading still holds
    for number, (sentence, concept) in enumerate(
        zip(sentences, learned_concepts, strict=True), start=1
    ):
        check()  # each sentence may wait for the model, so the limit is checked before each
        if is_risk_sentence(sentence):
            key, how = RISK, "cue"
        elif previous_key == RISK and _continues_risk(concept):
            key, how = RISK, "classifier"
        elif number <= preamble and header is not None:
            key, how = header, "classifier"
        elif (named := spoken_heading(sentence.text, form)) is not None:
            # The clinician named the section ("Okay, plan: ..."): its own sentence goes there
            # whatever else it says, and the ones after it lean there (_route).
            key, how = named, "cue"
            heading, heading_reach = named, None
            if form.section(named).concepts == (GOAL,):
                # A goal is said in a sentence, and what follows is the session's work: "Goal:
                # return to climbing. Individual psychotherapy, session six. Acceptance
                # practice, ..." A goals heading holds its own sentence, or the one after a
                # heading said alone ("Goals. Reduce panic avoidance.").
                heading_reach = 1 if says_only_its_heading(sentence.text, form) else 0
        else:
            if heading_reach is not None:
                heading = heading if heading_reach > 0 else None
                heading_reach -= 1
            learned = section_probabilities(concept, homes) if homes else {}
            likeliest, sureness = likeliest_concept(concept)
            key, how = _route(
                form,
                sentence,
                classifier,
                learned,
                sureness,
                heading,
                homes.get(likeliest) if likeliest is not None else None,
            )
        statement = _file(sections[key], f"s{number}", how, sentence, previous, transcript)
        previous, previous_key = sentence, key
        if how == "default":
            flag(
                "unplaced",
                "Check where this sentence belongs; it was placed by default.",
                key,
                statement,
            )
    routed = time.perf_counter()
    placeholders = {}
    if not sections[RISK]:
        placeholders[RISK] = NOT_ADDRESSED
        flag(
            "risk_not_addressed",
            "The dictation says nothing about suicidal or homicidal ideation, self-harm or "
            "safety. Address risk before signing.",
            RISK,
        )
    for statement in sections[RISK]:
        check()
        if polarity_unclear(statement.text):
            flag(
                "risk_polarity_unclear",
                f'"{statement.text}" neither denies nor reports it: a spoken "denies" is often '
                "misheard. Check what was said.",
                RISK,
                statement,
            )
        reported = reported_risk_message(statement.text)
        if reported is not None:
            flag(RISK_REPORTED, reported, RISK, statement)
    for key, statements in sections.items():
        for statement in statements:
            check()
            cited = " ".join(span.text for span in statement.provenance)
            missing = ungrounded(statement.text, cited)
            if missing:
                flag(
                    "ungrounded",
                    f"Not in the cited dictation: {', '.join(missing)}.",
                    key,
                    statement,
                )
            for score in implausible_scores(statement.text):
                flag(
                    "implausible_score",
                    f"{score} is outside that scale: probably misheard; check the value.",
                    key,
                    statement,
                )
    check()
    fields = extract_fields(modality, _as_filed(sections, transcript))
    return Draft(
        transcript=transcript,
        modality=modality,
        note_format=form.key,
        sections=sections,
        placeholders=placeholders,
        fields=fields,
        flags=flags,
        timings={
            "routing": round(routed - started, 4),
            "total": round(time.perf_counter() - started, 4),
        },
        section_titles=({HEADER: HEADER_TITLE} if HEADER in sections else {})
        | {s.key: s.title for s in form.sections}
        | {RISK: RISK_TITLE},
    )
