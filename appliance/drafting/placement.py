"""Where a sentence belongs, learned: a small supervised classifier of what a sentence does.

A dictation's sentences each do one thing a note is made of (the concepts below): the client's
report, the clinician's observation, what the clinician did, how the client responded, the
clinician's assessment, the goal, the plan, risk, the session line or the note's header. Every
note format is a grouping of these concepts into sections (formats.Section.concepts), so one
classifier of concepts serves SOAP, DAP, BIRP, GIRP and the admins' own templates alike.

The model is a logistic regression over word and character n-grams and the sentence's first
two words (scikit-learn), trained when first needed from the labelled corpus shipped beside this
module (placement_corpus.json, written for the concepts, never from the evaluation dictations).
Training from the corpus at start-up, rather than loading a pickled model, keeps the artefact
reviewable text and the result reproducible: the same corpus and library version give the same
model, and no pickle is ever loaded. It takes about a second, once per process (about as long
again to import scikit-learn).

The cues (formats.py) and the language model still have a say: appliance.drafting.draft
decides between them, and reports which decided (cue, classifier, model or default).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

HEADER = "header"
SESSION = "session"
REPORT = "report"
OBSERVATION = "observation"
INTERVENTION = "intervention"
RESPONSE = "response"
ASSESSMENT = "assessment"
GOAL = "goal"
PLAN = "plan"
RISK = "risk"
CONCEPTS = (
    HEADER,
    SESSION,
    REPORT,
    OBSERVATION,
    INTERVENTION,
    RESPONSE,
    ASSESSMENT,
    GOAL,
    PLAN,
    RISK,
)
CORPUS = "placement_corpus.json"
# Words as clinicians type them: "f/u", "+SI", "-SI/-HI", "PHQ-9" are one token each.
_WORD_PATTERN = r"(?u)[\w/+-]+"


_OPENING_WORDS = 2  # how many of a sentence's first words are its opening
# Said before a spoken sentence's first word without saying what the sentence does ("Okay so,
# um, Sofia today, this was ..."): skipped, so that the opening is the sentence's own. Not "er",
# which is also the ER.
_FILLERS = frozenset(("um", "uh", "erm", "okay", "ok", "so", "and", "alright", "well", "anyway"))


def opening_words(text: str) -> str:
    """The sentence's first two words, lower-cased and marked as opening ones, so that they are
    features apart from the same words elsewhere in it: "Continue weekly" -> "open_continue
    open_weekly". Fillers before them are skipped: "Okay so, um, Sofia today" -> "open_sofia
    open_today"."""
    found = re.findall(_WORD_PATTERN, text.lower())
    skip = 0
    while skip < len(found) and found[skip] in _FILLERS:
        skip += 1
    found = found[skip : skip + _OPENING_WORDS]
    return " ".join(f"open_{word}" for word in found)


@dataclass(frozen=True)
class LabelledSentence:
    text: str
    concept: str
    modality: str


def load_corpus(text: str | None = None) -> list[LabelledSentence]:
    """The shipped corpus (or `text`, a corpus document), each label checked."""
    document = json.loads(
        text if text is not None else resources.files(__package__).joinpath(CORPUS).read_text()
    )
    sentences = [
        LabelledSentence(str(s["text"]), str(s["concept"]), str(s.get("modality", "")))
        for s in document["sentences"]
    ]
    unknown = {s.concept for s in sentences} - set(CONCEPTS)
    if unknown:
        raise ValueError(f"unknown concepts in the placement corpus: {sorted(unknown)}")
    return sentences


class ConceptClassifier:
    """Concept probabilities for sentences; trained on construction (about a second)."""

    def __init__(self, corpus: Sequence[LabelledSentence]) -> None:
        # Imported here: scikit-learn and SciPy take a while to import, and only drafting
        # needs them (the web pages, the CLI's other commands and the tests of neither).
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, make_pipeline

        features = FeatureUnion(
            [
                (
                    "words",
                    TfidfVectorizer(
                        token_pattern=_WORD_PATTERN,
                        ngram_range=(1, 2),
                        sublinear_tf=True,
                        lowercase=True,
                    ),
                ),
                (
                    "characters",
                    TfidfVectorizer(
                        analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True
                    ),
                ),
                # How a sentence opens says much of what it does ("Continue weekly, ...", "We
                # practised ...", "She said ..."), wherever the words after it point. At half
                # the weight of the other two, as the opening a Whisper transcript gives a
                # statement is not always the sentence's own. On make eval's development set
                # and 36 probe dictations written for the purpose (scripts and Piper), half
                # weight placed 1,405 sentences right, none 1,394 and full weight 1,396.
                (
                    "opening",
                    TfidfVectorizer(
                        token_pattern=_WORD_PATTERN,
                        preprocessor=opening_words,
                        ngram_range=(1, 2),
                        sublinear_tf=True,
                    ),
                ),
            ],
            transformer_weights={"words": 1.0, "characters": 1.0, "opening": 0.5},
        )
        # Newton-CG solves the same problem as the default L-BFGS to the same answer (the same
        # placements on make eval's development set) in a fifth of the time on this corpus:
        # about a second, once per process. C=8: little regularisation, as the corpus is clean.
        self._model = make_pipeline(
            features, LogisticRegression(C=8.0, solver="newton-cg", max_iter=3000)
        )
        self._model.fit([s.text for s in corpus], [s.concept for s in corpus])
        self.concepts: tuple[str, ...] = tuple(str(c) for c in self._model.classes_)

    def probabilities(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Concept -> probability, one mapping per text (in order)."""
        if not texts:
            return []
        rows: Any = self._model.predict_proba(list(texts))
        return [
            {concept: float(p) for concept, p in zip(self.concepts, row, strict=True)}
            for row in rows
        ]


_lock = threading.Lock()
_shared: ConceptClassifier | None = None


def shared_classifier() -> ConceptClassifier:
    """The process's classifier, trained on the shipped corpus the first time it is asked for
    (the job workers are threads: one trains, the others wait for it)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = ConceptClassifier(load_corpus())
        return _shared


def likeliest_concept(concepts: Mapping[str, float]) -> tuple[str | None, float]:
    """The sentence's single likeliest concept and its probability; (None, 0.0) without any."""
    if not concepts:
        return None, 0.0
    key = max(concepts, key=concepts.__getitem__)
    return key, concepts[key]


def section_probabilities(
    concepts: Mapping[str, float], homes: Mapping[str, str]
) -> dict[str, float]:
    """Section key -> probability that the sentence belongs there: the sum of its concepts'
    probabilities (`homes`: which section each concept goes to).

    {} when the sentence's most likely concept has no home in the format (a custom template
    without a section for the client's report, say): spreading its probability over the
    sections there are would send it confidently somewhere it does not belong, so the cues and
    the model decide instead. Nothing is renormalised, so that "how sure" means the same in
    every format."""
    likeliest, _ = likeliest_concept(concepts)
    if likeliest is None or homes.get(likeliest) is None:
        return {}
    totals: dict[str, float] = {}
    for concept, probability in concepts.items():
        home = homes.get(concept)
        if home is not None:
            totals[home] = totals.get(home, 0.0) + probability
    return totals
