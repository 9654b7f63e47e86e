"""The service codes form on the admin settings page: one numbered row per code, plus spares."""

from __future__ import annotations

from collections.abc import Sequence

from appliance.practice.service_codes import MAX_CODES

# Empty rows under the list for adding codes: enough for a change without a script to add rows.
SPARE_ROWS = 3
MAX_ROWS = MAX_CODES + SPARE_ROWS
ROW_FIELDS = [f"{part}_{n}" for n in range(1, MAX_ROWS + 1) for part in ("code", "label")]


def rows_from_fields(fields: dict[str, str]) -> list[tuple[str, str]]:
    return [(fields[f"code_{n}"], fields[f"label_{n}"]) for n in range(1, MAX_ROWS + 1)]


def padded(rows: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The rows as numbered (problems name row numbers), without trailing blanks, plus spares."""
    kept = list(rows)
    while kept and not any(part.strip() for part in kept[-1]):
        kept.pop()
    return [*kept, *[("", "")] * SPARE_ROWS][: max(MAX_ROWS, len(kept))]
