"""The line that opens a dictation and names it: "EMDR session note for client K.B., 60 minutes."

A clinician says it first, as a list of short items: the note or session, the client, the
length, the billing code, where it took place. Typed, it is a sentence of its own and the concept
classifier reads it well. Spoken to Whisper with a natural voice it is neither:

- Whisper runs it into what follows ("EMDR session note for client KB, 60 minutes, she said
  the week was better overall, ..."), where no full stop and no clause opening marks its end;
- it garbles the very words that make it a header: "BIRP note" comes back as "burp no",
  "client S.M." as "client SM", "45 min" as "45 men".

On make eval's development set that lost 4 of the 5 headers from the Piper voice, and probe
dictations written for the purpose lost most of theirs. The items themselves survive: a short
comma-separated run that gives the length, the billing code or the note, and names the client.
This module finds that run by its shape, which is what the classifier cannot learn from typed
sentences.
"""

from __future__ import annotations

import re

# An item of the header is short; an item longer than this is the dictation going on.
MAX_ITEM_WORDS = 6
# What only a header or a session line says: the session's length (not "15 minutes late"), the
# billing code (90834, as Whisper writes it "90,834"), where it took place, or the note itself.
_ANCHOR = re.compile(
    r"\b\d+\s*+(?:minutes?|mins?|men)\b(?!\s++(?:late|early|ago|into|before|after|of|on)\b)"
    r"|\b(?:[a-z]+ty(?:-[a-z]+)?)\s++(?:minutes?|mins?)\b(?!\s++(?:late|early|ago|into)\b)"
    r"|\b90,?8\d\d\b|\bcpt\b|\btelehealth\b|\bin[- ]person\b|\bby video\b|\bin office\b"
    r"|\bnote\b",
    re.IGNORECASE,
)
# The client named: by dotted initials ("J.M."), or after "client", "clients" or "partners" by
# a short word that is no sentence going on ("client SM", "partners MRNJR", "client-deal" as
# Whisper heard "client D.L."; not "a client with a history of ...").
_NAMES_CLIENT = re.compile(
    r"\b[A-Z]\.\s?[A-Z]\."
    r"|\b(?:clients?|partners|member)[\s,-]++(?:initials\s++)?"
    r"(?!(?:with|who|whose|was|is|has|had|a|an|the|and|reported|reports|said|says|came|"
    r"arrived|presented|appeared|described|denied|denies|returned|is|will|to|in|on|at|for)\b)"
    r"[A-Za-z]{1,6}\b",
    re.IGNORECASE,
)
# A comma between digits is a thousands separator ("90,834"), not the end of an item.
_ITEM_END = re.compile(r"(?<!\d),|,(?!\d)")
_WORD = re.compile(r"\S+")


def _items(text: str) -> list[tuple[int, int]]:
    """(start, end) of each comma-separated item of `text`; the end is after its comma."""
    items: list[tuple[int, int]] = []
    start = 0
    for comma in _ITEM_END.finditer(text):
        items.append((start, comma.end()))
        start = comma.end()
    items.append((start, len(text)))
    return items


def header_end(text: str, min_rest_words: int = 1) -> int | None:
    """Where the header that opens `text` ends, when it does and at least `min_rest_words`
    words follow it: after the last item that gives the length, the code, the place or the
    note, in the leading run of short items, and only if that run names the client."""
    last: int | None = None
    for start, end in _items(text):
        if len(_WORD.findall(text[start:end])) > MAX_ITEM_WORDS:
            break
        if _ANCHOR.search(text, start, end):
            last = end
    if last is None or not _NAMES_CLIENT.search(text, 0, last):
        return None
    return last if len(_WORD.findall(text[last:])) >= min_rest_words else None


def is_header_line(text: str) -> bool:
    """Whether `text` is a header line and nothing more: short items only, the length, code,
    place or note among them, and the client named."""
    items = _items(text)
    if any(len(_WORD.findall(text[start:end])) > MAX_ITEM_WORDS for start, end in items):
        return False
    return bool(_ANCHOR.search(text)) and bool(_NAMES_CLIENT.search(text))
