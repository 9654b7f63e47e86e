"""How alike two words are, for telling a misheard term from a word the speaker chose
(appliance.drafting.suggestions): letters (Levenshtein), sound (metaphone), other forms of one
word, and whether a word is everyday English.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

# jellyfish: maintained implementations of Levenshtein distance and the metaphone phonetic
# code; written here they would be a few hundred lines of well-known algorithms to get wrong.
import jellyfish

# zxcvbn (already the password checker's) ships frequency lists of English words from
# Wikipedia, film and television subtitles and common passwords, about 79,000 words: the only
# English word list among our dependencies. Each word is in one list only, so all three serve.
from zxcvbn.frequency_lists import FREQUENCY_LISTS

# Each word a phrase changes, on its own ("diffusion" for "defusion", "deer" for "dear"): a
# little closer, as a real word near another ("distraction", "distortion") is common.
WORD_SIMILARITY = 0.75
MIN_STEM = 4
# Words this short are another word when one sound apart ("bear" is not "dear").
SHORT_WORD = 4
_EVERYDAY_LISTS = ("english_wikipedia", "us_tv_and_film", "passwords")
# Everyday words the lists leave out (a password checker has no use for them).
_ALSO_EVERYDAY = frozenset({"a", "am", "us"})
# Words that sound the same and share no letters, which a spelling-based phonetic code such
# as metaphone cannot relate: Whisper writes "I" for "eye" ("bilateral I movements").
_SAME_SOUND = {"i": "AY", "eye": "AY", "aye": "AY"}
# Endings that make another form of a word ("resist-ance", "resist-ant"). Not a stemmer
# (Snowball): it only has to tell that two words share a stem, never to find the stem of a
# word right, and a dozen endings do that for the terms of the vocabulary.
_ENDINGS = (
    "ations",
    "ation",
    "ances",
    "ance",
    "ences",
    "ence",
    "ings",
    "ing",
    "ions",
    "ion",
    "ive",
    "ant",
    "ent",
    "able",
    "ible",
    "ness",
    "ment",
    "ful",
    "ers",
    "er",
    "ors",
    "or",
    "ed",
    "es",
    "is",
    "s",
    "e",
)


@cache
def everyday_words() -> frozenset[str]:
    """Lower-case everyday English words (built once: about 79,000 of them)."""
    listed = (word for name in _EVERYDAY_LISTS for word in FREQUENCY_LISTS[name])
    return frozenset(word for word in listed if word.isalpha()) | _ALSO_EVERYDAY


def sound(words: Iterable[str]) -> str:
    """The metaphone code of lower-case words, run together."""
    return "".join(_SAME_SOUND.get(w) or jellyfish.metaphone(w) for w in words)


def stem(word: str) -> str:
    """`word` less its endings, one after another ("movements" -> "movement" -> "move");
    "value's" is "value"."""
    word = word.split("'")[0]
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= MIN_STEM:
            return stem(word[: -len(ending)])
    return word


def forms_of_one_word(a: str, b: str) -> bool:
    """Two forms of one word ("value"/"values", "resistant"/"resistance"), or one word inside
    another with two letters more or more ("action"/"reaction", "transfer"/"transference"):
    one letter more or less is how a mishearing looks ("acitalopram")."""
    if stem(a) == stem(b):
        return True
    shorter, longer = sorted((a.replace("'", ""), b.replace("'", "")), key=len)
    return len(longer) - len(shorter) >= 2 and (
        longer.startswith(shorter) or longer.endswith(shorter)
    )


def near_word(heard: str, word: str) -> bool:
    """`heard` may be `word` misheard: close in letters and in sound (the same sound, for
    short words, where one sound apart is another word: "bear" is not "dear")."""
    if _SAME_SOUND.get(heard, heard) == _SAME_SOUND.get(word, word):
        return True
    if forms_of_one_word(heard, word) or similarity(heard, word) < WORD_SIMILARITY:
        return False
    apart = sounds_apart(sound([heard]), sound([word]))
    return apart <= (0 if min(len(heard), len(word)) <= SHORT_WORD else 1)


def similarity(a: str, b: str) -> float:
    """The share of letters two words have in the same place (1 - Levenshtein / length)."""
    return 1 - jellyfish.levenshtein_distance(a, b) / max(len(a), len(b))


def sounds_apart(a: str, b: str) -> int:
    """How many edits apart two metaphone codes are."""
    return int(jellyfish.levenshtein_distance(a, b))
