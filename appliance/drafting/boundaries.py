"""Where a spoken sentence ends when Whisper wrote a comma, or nothing, instead of a full stop.

Whisper punctuates a natural voice sparingly: a dictation of twelve sentences can come back as
three or four comma-joined run-ons ("... seen on Monday, the client reported poor sleep, the
PHQ-9 was 14, we reviewed the thought record ..."), each holding facts that belong to
different sections of the note. Full stops cannot find those boundaries, and a list of clause
openings ("the client", "we") finds only the ones it lists.

This is a small supervised model of "does a new statement start in this gap": a logistic
regression over the words on either side of the gap, whether a comma is there, and how long
the clauses around it are. It is trained when first needed from the placement corpus
(placement_corpus.json, the same hand-written sentences the concept classifier learns from,
never the evaluation dictations), by joining its sentences the way Whisper does: with a comma
and a lower-case letter, or with nothing at all. The gaps between joined sentences are the
boundaries; every gap inside a sentence, commas included, is not. The joins are drawn from a
seeded generator, so the same corpus gives the same model.

Only long sentences are cut (MIN_SENTENCE_WORDS). A written sentence of that length is rare in
a clinician's typed note, and its commas are mostly the writer's own ("At the end the SUD was 3
and the VOC was 5, so the memory is not fully processed"): on make eval's development set,
cutting shorter sentences changed no placement and split typed sentences that were whole.
Each piece keeps its exact span of the transcript, so provenance is unchanged in kind.

A sequence labeller (a CRF) or a punctuation-restoration network would be the textbook tool;
neither is packaged for this appliance's offline install, and a linear model over the gap's
context separates Whisper's joins from a writer's commas well enough (make eval reports the
placement it gives), trains in about a second and explains itself.
"""

from __future__ import annotations

import random
import re
import threading
from bisect import bisect_left, insort
from collections.abc import Iterator, Sequence
from typing import Any

from appliance.drafting.headings import opens_a_heading
from appliance.drafting.placement import LabelledSentence, load_corpus
from appliance.drafting.risk import is_risk_sentence
from appliance.drafting.segment import Sentence
from appliance.drafting.topic_shifts import ConceptReading, with_topic_shifts

# Only sentences at least this long are cut by the model (see the module doc).
MIN_SENTENCE_WORDS = 20
# No piece shorter than this many words: "For homework," and "April 7," are not statements.
MIN_PIECE_WORDS = 4
# A gap is cut when the model gives a new statement at least this probability. First chosen
# on make eval's 22 development dictations (0.5; 0.6 lost 3 espeak-ng sentences). Lowered to 0.4
# on 2026-11-29, once the drafting had changed around it: a cut too many costs little, since the
# pieces of one written sentence that land in the same section are joined again
# (appliance.drafting.draft._file), while a cut too few files a spoken sentence under its
# neighbour's section. Cue-only, from the Piper transcripts: development 210 -> 211 of 225
# sentences, probe sets E 178 -> 182 of 214 and F 144 -> 145 of 171; the scripts, espeak-ng
# and every field unchanged. Cross-validated on the corpus: 0.62 -> 0.67 of the joins found,
# 0.84 -> 0.81 of the cuts right.
THRESHOLD = 0.4
# In a piece that mentions risk (spoken_statements says why): cut at this chance, in pieces of
# this many words or more.
RISK_THRESHOLD = 0.3
RISK_MIN_WORDS = 12

_WORD = re.compile(r"\S+")  # a word as str.split() finds it
# A quote a clinician introduces ("she said, I just freeze", "told me, I'm a fraud") goes on
# the sentence that introduces it. The corpus's joins teach that ", I ..." starts a sentence
# (it often does, in Whisper's run-ons), so the model alone cut there; no cut follows these.
_SPEECH_VERBS = frozenset(
    {
        "said",
        "says",
        "say",
        "saying",
        "stated",
        "states",
        "asked",
        "asks",
        "replied",
        "added",
        "explained",
        "wondered",
    }
)
# Words that open a dependent clause: what follows its comma is the clause it depends on.
_SUBORDINATORS = frozenset(
    {"when", "whenever", "after", "before", "if", "because", "although", "though", "while"}
    | {"once", "since", "until", "unless", "whereas"}
)
# Words that, after a comma, open a clause about what came before it (boundaries measured on
# make eval's development dictations and on probe dictations written for the purpose: the
# longer list of subordinators placed the same).
_TRAILING_CLAUSE_OPENERS = frozenset({"when", "which", "where", "whose"})
_TRAILING_CLAUSE_WORDS = 15  # how far a closing comma is looked for
# A field's label said as a heading ("for committed action the client will garden ...", "as
# homework she will ..."): what follows is the field's value, so no cut comes straight after it,
# where the model, used to new sentences starting with "the client", put one.
_LABEL_LEADS = frozenset({"for", "as"})
_LABELS = (("committed", "action"), ("homework",), ("hw",), ("the", "homework"))
_LABEL_ENDS = frozenset(label[-1] for label in _LABELS)
_OWNERS = frozenset({"his", "her", "their", "my"})  # "in her words,"
_TOLD = frozenset({"told", "tells", "tell", "asked", "asks", "reminded", "warned"})
_HEARER = frozenset({"me", "us", "him", "her", "them", "everyone", "you"})
_NUMBER = re.compile(r"\d+(?:[.:]\d+)?%?")
_TRAINING_SEED = 7
_TRAINING_ROUNDS = 3  # passes over the corpus, each joining its sentences in a new order
_COMMA_JOINS = 0.6  # the share of joins written with a comma; the rest have no mark at all
_MAX_JOINED = 5  # sentences joined into one synthetic run-on (1 to this many)
_EDGE = "<edge>"  # the word beyond the start or end of a sentence
_REGULARISATION = 1.0  # LogisticRegression's C
# Features are hashed into 2**18 buckets (about twice the ~120,000 distinct features the corpus
# gives): the training gaps then stream through once instead of being held as Python objects.
# 2**20 buckets placed the same on make eval's development set, and its solver needed twice the
# memory. liblinear fits this binary problem in under a second, in a fifth of L-BFGS's memory
# on these features (about 45 MB against 300 MB), with the same placements.
_HASH_BITS = 18
_CLAUSE_BAG = 6
_SOLVER = "liblinear"


def _word(raw: str) -> str:
    word = raw.lower().strip(".,;:!?\"'()")
    return "<number>" if _NUMBER.fullmatch(word) else word


def _bucket(count: int) -> str:
    if count <= 6:
        return str(count)
    return "7-10" if count <= 10 else "11+"


def gap_features(words: Sequence[str]) -> list[list[str]]:
    """The features of each gap (present or not, so a list of names): gap i lies between
    words[i] and words[i + 1]."""
    count = len(words)
    if count < 2:
        return []
    plain = [_word(w) for w in words]
    marks = ["," if w.endswith(",") else ";" if w.endswith(";") else "" for w in words]
    # Where the clause around each gap starts and ends (the words since the last comma or
    # semicolon, and up to the next), found in two passes rather than by scanning from every
    # gap, which was quadratic on a typed note with no punctuation.
    clause_start = [0] * count
    for i in range(1, count):
        clause_start[i] = i if marks[i - 1] else clause_start[i - 1]
    clause_end = [count - 1] * count
    for i in range(count - 2, -1, -1):
        clause_end[i] = i if marks[i] else clause_end[i + 1]
    left_has = [f"left has={w}" for w in plain]
    right_has = [f"right has={w}" for w in plain]
    rows: list[list[str]] = []
    for i in range(count - 1):
        mark = marks[i] or "_"
        left1, right1 = plain[i], plain[i + 1]
        left2 = plain[i - 1] if i >= 1 else _EDGE
        right2 = plain[i + 2] if i + 2 < count else _EDGE
        right3 = plain[i + 3] if i + 3 < count else _EDGE
        before = _bucket(i + 1)
        clause_before = _bucket(i + 1 - clause_start[i])
        earlier = plain[clause_start[clause_start[i] - 1]] if clause_start[i] > 0 else _EDGE
        rows.append(
            [
                f"mark={mark}",
                f"left={left1}",
                f"left2={left2} {left1}",
                f"right={right1}",
                f"right2={right1} {right2}",
                f"right3={right1} {right2} {right3}",
                f"across={left1}|{right1}",
                f"mark+left={mark}{left1}",
                f"mark+right={mark}{right1}",
                f"mark+right2={mark}{right1} {right2}",
                f"words before={before}",
                f"words after={_bucket(count - i - 1)}",
                f"mark+words before={mark}{before}",
                f"capital after={words[i + 1][:1].isupper()}",
                f"clause before={clause_before}",
                f"clause after={_bucket(clause_end[i + 1] - i)}",
                f"mark+clause before={mark}{clause_before}",
                # What opened the clause before the gap, and the clause before that: "After
                # we talked ..., which ...," is not over at its comma; "the GAD-7 was 13," is.
                f"clause opener={plain[clause_start[i]]}",
                f"mark+clause opener={mark}{plain[clause_start[i]]}",
                f"earlier opener={earlier}",
            ]
        )
        # The words of the clauses either side (up to _CLAUSE_BAG of each, nearest the gap):
        # whether the clause after has a subject and a verb of its own ("the PHQ-9 was 14") or
        # continues the one before ("down from 20 at intake"). On the corpus's cross-validation
        # they found 0.66 of the joins instead of 0.63, with 0.84 of the cuts right, not 0.80.
        # (Sliced from names made once per word: made per gap, they doubled the time a long
        # run-on took.)
        rows[-1] += left_has[max(clause_start[i], i + 1 - _CLAUSE_BAG) : i + 1]
        rows[-1] += right_has[i + 1 : min(clause_end[i + 1], i + _CLAUSE_BAG) + 1]
    return rows


def _as_joined(sentence: str, first: bool) -> list[str]:
    """A corpus sentence's words as Whisper writes them mid-run-on: no final full stop, and a
    lower-case first letter unless the word is "I" or an acronym ("PHQ-9", "EMDR")."""
    text = sentence.strip().rstrip(".!?").rstrip()
    words = _WORD.findall(text)
    if words and not first:
        head = words[0]
        if not (head == "I" or head.startswith("I'") or (len(head) > 1 and head.isupper())):
            words[0] = head[:1].lower() + head[1:]
    return words


def training_gaps(corpus: Sequence[LabelledSentence]) -> Iterator[tuple[list[str], int]]:
    """Every gap of the synthetic run-ons: its features, and whether a new sentence starts
    there (1) or not (0). A generator: a hundred thousand gaps held at once as Python lists
    took a quarter of a gigabyte, which a worker process would have kept."""
    rng = random.Random(_TRAINING_SEED)  # noqa: S311 (seeded for a reproducible model; no secret)
    for _ in range(_TRAINING_ROUNDS):
        order = list(range(len(corpus)))
        rng.shuffle(order)
        position = 0
        while position < len(order):
            size = rng.randint(1, _MAX_JOINED)
            group = order[position : position + size]
            position += size
            words: list[str] = []
            ends: set[int] = set()
            for member in group:
                joined = _as_joined(corpus[member].text, first=not words)
                if not joined:
                    continue
                if words:
                    if rng.random() < _COMMA_JOINS:
                        words[-1] += ","
                    ends.add(len(words) - 1)
                words += joined
            for gap, features in enumerate(gap_features(words)):
                yield features, int(gap in ends)


class BoundaryModel:
    """P(a new statement starts in a gap); trained on construction (about a second)."""

    def __init__(self, corpus: Sequence[LabelledSentence]) -> None:
        # Imported here, as in appliance.drafting.placement: only drafting needs scikit-learn.
        from sklearn.feature_extraction import FeatureHasher
        from sklearn.linear_model import LogisticRegression

        self._hasher = FeatureHasher(
            n_features=2**_HASH_BITS, input_type="string", alternate_sign=False
        )
        labels: list[int] = []

        def rows() -> Iterator[list[str]]:
            for features, label in training_gaps(corpus):
                labels.append(label)
                yield features

        matrix = self._hasher.transform(rows())
        self._model = LogisticRegression(C=_REGULARISATION, solver=_SOLVER, max_iter=2000)
        self._model.fit(matrix, labels)

    def probabilities(self, words: Sequence[str]) -> list[float]:
        """P(boundary) for each gap between consecutive `words`."""
        rows = gap_features(words)
        if not rows:
            return []
        # Each distinct gap is scored once: the features are words and counts bucketed past
        # ten, so a run that repeats itself ("SUD SUD SUD ...", a pasted line over and over)
        # gives the same few rows thousands of times, and hashing them was most of the time.
        distinct: dict[tuple[str, ...], int] = {}
        which = [distinct.setdefault(tuple(row), len(distinct)) for row in rows]
        found: Any = self._model.predict_proba(self._hasher.transform(list(distinct)))
        chances = [float(p) for p in found[:, 1]]
        return [chances[i] for i in which]

    def pieces(
        self,
        sentence: str,
        threshold: float = THRESHOLD,
        min_words: int = MIN_SENTENCE_WORDS,
        chances: Sequence[float] | None = None,
    ) -> list[tuple[int, int]]:
        """(start, end) of each statement in `sentence`: the whole of it unless it has
        `min_words` words or more and the model finds boundaries in it (chance `threshold` or
        more). The cuts are taken most likely first, each only where it leaves no piece under
        MIN_PIECE_WORDS words; a piece ends after its comma. `chances`: this model's
        probabilities for `sentence`'s gaps, where the caller has them already."""
        matches = list(_WORD.finditer(sentence))
        if len(matches) < max(min_words, 2 * MIN_PIECE_WORDS):
            return [(0, len(sentence))]
        words = [m.group() for m in matches]
        if chances is None:
            chances = self.probabilities(words)
        # Gap i is cut after word i. `cuts` holds -1 and the last word as sentinels, so each
        # candidate's neighbours are found by bisection.
        cuts = [-1, len(matches) - 1]
        dependent_end = _dependent_opening_end(words)
        # A section named aloud inside a run-on (", objective, he was on time") starts a
        # statement, whatever the model reads in the words around it.
        chances = [
            1.0 if opens_a_heading(words, gap) else chance for gap, chance in enumerate(chances)
        ]
        for gap in sorted(range(len(chances)), key=lambda g: (-chances[g], g)):
            if chances[gap] < threshold:
                break
            if (
                gap <= dependent_end
                or _introduces_speech(words, gap)
                or _heads_a_field(words, gap)
                or _opens_a_trailing_clause(words, gap)
                or _chooses_its_cognition(words, gap)
                # No piece starts with "and": the corpus's joins never start a sentence with
                # it, so a cut there ("... after weighing the evidence, | and we practiced a
                # balanced thought") was the model reading the words after it. On the
                # development set and the probes: one more espeak-ng sentence placed right,
                # nothing else moved.
                or _word(words[gap + 1]) == "and"
            ):
                continue
            place = bisect_left(cuts, gap)
            if gap - cuts[place - 1] >= MIN_PIECE_WORDS and cuts[place] - gap >= MIN_PIECE_WORDS:
                insort(cuts, gap)
        pieces: list[tuple[int, int]] = []
        start = 0
        for gap in cuts[1:-1]:
            pieces.append((start, matches[gap].end()))
            start = matches[gap + 1].start()
        pieces.append((start, len(sentence)))
        return pieces


def _introduces_speech(words: Sequence[str], gap: int) -> bool:
    """Whether the words before `gap` introduce a quote ("... said," / "... told me," / "...
    because, in his words,")."""
    last = _word(words[gap])
    if last in _SPEECH_VERBS:
        return True
    if last == "words" and gap >= 2 and _word(words[gap - 2]) == "in":
        return _word(words[gap - 1]) in _OWNERS
    return gap >= 1 and last in _HEARER and _word(words[gap - 1]) in _TOLD


def _opens_a_trailing_clause(words: Sequence[str], gap: int) -> bool:
    """Whether the words after `gap` are a clause that depends on the ones before it: after a
    comma, "when", "which", "where" or "whose" with no comma of its own to close it ("a chain
    analysis of Tuesday, | when she skipped her shift and stayed in bed"), or one whose closing
    comma "and" or "but" follows, with or without a comma before it ("she denied it | when I
    asked, and she laughed"). A spoken sentence that opens with one of them closes it before
    its main clause ("..., when I asked about sleep, she said ..."), so that gap is still the
    model's to cut."""
    if _word(words[gap + 1]) not in _TRAILING_CLAUSE_OPENERS:
        return False
    following = words[gap + 1 : gap + 1 + _TRAILING_CLAUSE_WORDS]
    closing = next((k for k, w in enumerate(following) if w.endswith((",", ";"))), None)
    if closing is None:
        return words[gap].endswith(",")
    # Closed by its own comma, it opens a main clause, unless "and" or "but" follows that comma:
    # "she denied it | when I asked, and she laughed" goes on the sentence before it.
    return closing + 1 < len(following) and _word(following[closing + 1]) in ("and", "but")


def _dependent_opening_end(words: Sequence[str]) -> int:
    """The last word of the sentence's opening clause (to its first comma or semicolon) when
    that clause opens with a subordinating word and ends at a mark, else -1: "When I asked
    where she could have stepped off the chain, | she said ..." is no statement without what
    follows it, so no cut comes inside or straight after it. Found once per sentence: scanning
    back from every gap was quadratic on a typed note without a comma."""
    if not words or _word(words[0]) not in _SUBORDINATORS:
        return -1
    # Without a comma or semicolon there is no opening clause to keep whole: a bare run-on
    # ("after 8 sets the SUD dropped to 2 she denies SI ...") is cut as the model says.
    return next((i for i, w in enumerate(words) if w.endswith((",", ";"))), -1)


# "the positive cognition | he wants is ...": the label, then who chose what follows.
_COGNITION_NOUNS = frozenset({"cognition", "cognitions", "belief", "beliefs", "pc", "nc"})
_CHOOSERS = frozenset({"he", "she", "they", "we"})
_CHOSE = frozenset(
    {"wants", "wanted", "chose", "picked", "named", "identified", "settled", "selected", "would"}
)


def _chooses_its_cognition(words: Sequence[str], gap: int) -> bool:
    """Whether the gap is between an EMDR cognition's label and who chose it ("and the
    positive cognition | he wants is 'I did the best I could'"), with no mark between them."""
    return (
        gap + 2 < len(words)
        and not words[gap].endswith((",", ";", "."))
        and _word(words[gap]) in _COGNITION_NOUNS
        and _word(words[gap + 1]) in _CHOOSERS
        and _word(words[gap + 2]) in _CHOSE
    )


def _heads_a_field(words: Sequence[str], gap: int) -> bool:
    """Whether the words before `gap` are a field's label said as a heading ("for committed
    action"), with no comma after it."""
    if words[gap].endswith((",", ";", ".")) or _word(words[gap]) not in _LABEL_ENDS:
        return False  # "For homework," leads a sentence a writer cut there
    for label in _LABELS:
        lead = gap - len(label)
        said = [_word(w) for w in words[lead + 1 : gap + 1]]
        if lead >= 0 and said == list(label) and _word(words[lead]) in _LABEL_LEADS:
            return True
    return False


_lock = threading.Lock()
_shared: BoundaryModel | None = None


def shared_boundaries() -> BoundaryModel:
    """The process's model, trained on the shipped corpus the first time it is asked for (the
    job workers are threads: one trains, the others wait for it)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = BoundaryModel(load_corpus())
        return _shared


def spoken_statements(
    sentences: Sequence[Sentence],
    model: BoundaryModel | None = None,
    concepts: ConceptReading | None = None,
) -> list[Sentence]:
    """`sentences` (appliance.drafting.segment's), each long one cut where the model finds a
    spoken sentence's end; renumbered, each piece keeping its written sentence's number.
    `model`: None for the shipped one, trained only if some sentence is long enough to cut.
    `concepts`: the concept classifier, to cut also where the clauses either side of a comma
    say different things (appliance.drafting.topic_shifts); None: the model alone.

    A piece that mentions risk is looked at again, more readily (RISK_THRESHOLD, from
    RISK_MIN_WORDS words): risk is placed by rule, a whole statement at a time, so a missed
    boundary there hides the next spoken sentence in the Risk section ("... denied any
    suicidal ideation, intent or plan, she takes sertraline 50 milligrams daily")."""
    statements: list[Sentence] = []
    for sentence in sentences:
        pieces = [(0, len(sentence.text))]
        words = _WORD.findall(sentence.text)
        if len(words) >= RISK_MIN_WORDS:
            found = model if model is not None else shared_boundaries()
            # Read once: a risk sentence the first pass left whole is looked at again with the
            # same chances (a typed note of 50,000 characters is one such sentence).
            chances = found.probabilities(words) if len(words) >= MIN_SENTENCE_WORDS else None
            if chances is not None and concepts is not None:
                chances = with_topic_shifts(words, chances, concepts)
            outer = found.pieces(sentence.text, chances=chances)
            whole = chances if len(outer) == 1 else None
            pieces = [
                (start + inner_start, start + inner_end)
                for start, end in outer
                for inner_start, inner_end in _risk_pieces(found, sentence.text[start:end], whole)
            ]
        for start, end in pieces:
            statements.append(
                Sentence(
                    len(statements),
                    sentence.start + start,
                    sentence.start + end,
                    sentence.text[start:end],
                    sentence.written,
                )
            )
    return statements


def _risk_pieces(
    model: BoundaryModel, piece: str, chances: Sequence[float] | None = None
) -> list[tuple[int, int]]:
    """`piece` cut again, more readily, where it mentions risk; otherwise whole. `chances`:
    the model's probabilities for `piece`'s gaps, where they are known."""
    if not is_risk_sentence(Sentence(0, 0, len(piece), piece)):
        return [(0, len(piece))]
    return model.pieces(piece, threshold=RISK_THRESHOLD, min_words=RISK_MIN_WORDS, chances=chances)
