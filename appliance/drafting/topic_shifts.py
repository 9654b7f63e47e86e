"""Where a comma-joined run-on changes what it is about.

A clinician dictating in clipped notes ("Pt identified shame as the key link on her own. Mood
five out of ten at end. Engaged more after the chain. Practice opposite action twice this
week.") is written by Whisper as one run-on of short comma-joined clauses. The boundary model
(appliance.drafting.boundaries) learned its ends from whole sentences joined together, and in a
string of fragments it finds few: each comma there looks like a list's. What the fragments say
does change, though: a response, a rating at the end, a plan. So a comma where the concept
classifier (appliance.drafting.placement) is fairly sure of the clause before it and of the
clause after it, and sure of different things, is taken as a statement's end, unless the
boundary model all but rules one out there (a cognition said between commas, a quoted clause).

A cut too many costs little: pieces of one written sentence that land in the same section are
joined again (appliance.drafting.draft). A cut too few files a spoken sentence under its
neighbour's section.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from appliance.drafting.placement import likeliest_concept

# How sure the classifier must be of each clause's likeliest concept, and the least chance the
# boundary model must give the gap. Chosen on the development set and probe sets E and F, from
# their Piper transcripts (docs/drafting.md gives the numbers).
CLAUSE_CERTAINTY = 0.45
LEAST_CHANCE = 0.1
# A shorter clause ("target,", "phase three,") says too little to classify.
MIN_CLAUSE_WORDS = 3

ConceptReading = Callable[[list[str]], list[dict[str, float]]]


def with_topic_shifts(
    words: Sequence[str], chances: Sequence[float], read: ConceptReading
) -> list[float]:
    """`chances` (the boundary model's, one per gap between `words`) with each comma gap where
    the topic changes raised to 1.0. `read`: the concept classifier's probabilities for a batch
    of texts."""
    commas = [gap for gap, word in enumerate(words[:-1]) if word.endswith(",")]
    if not commas:
        return list(chances)
    edges = [-1, *commas, len(words) - 1]
    clauses = [words[edges[i] + 1 : edges[i + 1] + 1] for i in range(len(edges) - 1)]
    # Each distinct clause is read once: a pasted line repeated a thousand times is one text.
    texts = [" ".join(clause) for clause in clauses]
    distinct = list(dict.fromkeys(t for t in texts if any(c.isalpha() for c in t)))
    read_back = dict(zip(distinct, read(distinct), strict=True))
    likeliest = [likeliest_concept(read_back.get(text, {})) for text in texts]
    raised = list(chances)
    for i, gap in enumerate(commas):
        (before, sure_before), (after, sure_after) = likeliest[i], likeliest[i + 1]
        if (
            before is not None
            and after is not None
            and before != after
            and min(sure_before, sure_after) >= CLAUSE_CERTAINTY
            and chances[gap] >= LEAST_CHANCE
            and min(len(clauses[i]), len(clauses[i + 1])) >= MIN_CLAUSE_WORDS
        ):
            raised[gap] = 1.0
    return raised
