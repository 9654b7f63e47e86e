"""How good the review page's suggested corrections are (appliance.drafting.suggestions).

Suggestions are made on Whisper's transcript, as the page makes them on the statements cut
from it, and each is checked against the script the voice read: right when the suggested term
is what the script says at that place, wrong otherwise. "At that place" comes from the same
word alignment that scores placement (eval.align): the transcript is cut into the words
before the suggestion, its heard words and the words after, each script word is a "sentence",
and the heard words land on the script word that most of them align with. The term must occur
as a run of whole words (eval.text.contains) among the script words around there, as many on
each side as the term has words.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.drafting.suggestions import Suggestion, suggest
from eval.align import align
from eval.text import contains, words


@dataclass(frozen=True)
class CheckedSuggestion:
    heard: str
    term: str
    reason: str
    right: bool


@dataclass(frozen=True)
class SuggestionScore:
    checked: tuple[CheckedSuggestion, ...]

    @property
    def made(self) -> int:
        return len(self.checked)

    @property
    def right(self) -> int:
        return sum(c.right for c in self.checked)

    @property
    def wrong(self) -> int:
        return self.made - self.right


def _said_there(script_words: list[str], transcript: str, suggestion: Suggestion) -> bool:
    pieces = [
        transcript[: suggestion.start],
        suggestion.heard,
        transcript[suggestion.end :],
    ]
    where = align(script_words, pieces).sentence_of_statement[1]
    if where is None:
        return False
    reach = len(words(suggestion.term))
    nearby = script_words[max(0, where - reach) : where + reach + 1]
    return contains(words(" ".join(nearby)), suggestion.term)


def score_suggestions(script: str, transcript: str, modality: str) -> SuggestionScore:
    """The suggestions the page would offer on `transcript` of a `modality` dictation, each
    checked against what `script` says there."""
    script_words = script.split()
    return SuggestionScore(
        tuple(
            CheckedSuggestion(s.heard, s.term, s.reason, _said_there(script_words, transcript, s))
            for s in suggest(transcript, modality)
        )
    )
