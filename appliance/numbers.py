"""Whole numbers typed into forms and addresses, read without surprises.

`str.isdigit` is true for "²" and "٣" (which `int()` refuses, or reads as 3), and `int()`
refuses more than 4,300 digits: each was a 500 somewhere (issue 11's fuzzing). Nothing the
appliance counts (ids, versions, days, minutes, pages) needs more than nine digits, which also
keeps every value inside PostgreSQL's integer.
"""

from __future__ import annotations

MOST_DIGITS = 9


def whole_number(text: str, most_digits: int = MOST_DIGITS) -> int | None:
    """The number written in ASCII digits (surrounding spaces allowed), or None."""
    text = text.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= most_digits):
        return None
    return int(text)
