"""The practice's service codes: what a clinician picks for each dictation.

Pure rules (no database): the defaults, and checking an admin's rows before anything is stored.
The list itself is a system setting (`appliance.practice.preferences.service_codes`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

# CPT psychotherapy codes most practices bill; an admin edits the list for the practice.
DEFAULT_SERVICE_CODES: Mapping[str, str] = {
    "90832": "Psychotherapy, 30 min",
    "90834": "Psychotherapy, 45 min",
    "90837": "Psychotherapy, 60 min",
    "90846": "Family psychotherapy without the client",
    "90847": "Family psychotherapy with the client",
    "90853": "Group psychotherapy",
}
# CPT codes are 5 digits, but practices also bill HCPCS (H0004) or local codes. Eight is also
# the width of dictations.service_code, so every code in the list can be stored with a dictation.
CODE_PATTERN = re.compile(r"^[A-Z0-9]{4,8}$")
MAX_CODE = 8
MAX_LABEL = 60
MAX_CODES = 30
LIST_FIELD = "list"  # the key of a problem with the list as a whole, not one row


class ServiceCodesInvalid(ValueError):
    """The rows as sent cannot be saved; `problems` maps "code_3", "label_3" or "list" to why."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


def _row_problems(number: int, code: str, label: str) -> dict[str, str]:
    problems = {}
    if not code:
        problems[f"code_{number}"] = f"Row {number}: give the code for this label."
    elif not CODE_PATTERN.match(code):
        problems[f"code_{number}"] = (
            f"Row {number}: a code is 4 to {MAX_CODE} letters or digits, nothing else."
        )
    if not label:
        problems[f"label_{number}"] = f"Row {number}: give a label for this code."
    elif len(label) > MAX_LABEL:
        problems[f"label_{number}"] = f"Row {number}: a label is at most {MAX_LABEL} characters."
    elif not label.isprintable():  # tabs, line breaks: the label is one option in a list
        problems[f"label_{number}"] = f"Row {number}: a label is one line of plain text."
    return problems


def parse_service_codes(rows: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Rows of (code, label), numbered from 1 as on the form, to the list to store.

    Rows with both fields empty are left out (that is how an admin removes a code). Codes are
    compared and stored upper-case: "h0004" and "H0004" are the same code on a claim.
    """
    codes: dict[str, str] = {}
    first_row: dict[str, int] = {}
    problems: dict[str, str] = {}
    for number, (raw_code, raw_label) in enumerate(rows, start=1):
        code, label = raw_code.strip().upper(), raw_label.strip()
        if not code and not label:
            continue
        row_problems = _row_problems(number, code, label)
        if code in first_row and f"code_{number}" not in row_problems:
            row_problems[f"code_{number}"] = (
                f"Row {number}: {code} is already in row {first_row[code]}; each code once."
            )
        problems.update(row_problems)
        if code and code not in first_row:
            first_row[code] = number
            codes[code] = label
    if not problems and not codes:
        problems[LIST_FIELD] = "Keep at least one service code: clinicians must pick one."
    if len(codes) > MAX_CODES:
        problems[LIST_FIELD] = f"At most {MAX_CODES} service codes; this list has {len(codes)}."
    if problems:
        raise ServiceCodesInvalid(problems)
    return codes


def to_json(codes: Mapping[str, str]) -> str:
    # Pairs, not an object: the admin's order is the order clinicians see.
    return json.dumps([[code, label] for code, label in codes.items()], ensure_ascii=False)


def from_json(value: str) -> dict[str, str]:
    return {str(code): str(label) for code, label in json.loads(value)}
