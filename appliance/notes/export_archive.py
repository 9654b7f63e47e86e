"""What an export zip holds, and the zip itself: pure functions, no database, no clock.

- `index.csv`: one row per session (dictation), signed or not, oldest first, naming the PDF
  that holds its note, or why there is none: drafts are listed, never exported;
- one PDF per signed note (appliance.notes.pdf);
- `fhir-bundle.json`: a FHIR R4 Bundle of DocumentReferences, one per signed note and addendum
  (appliance.notes.fhir).

The same contents give the same bytes: entries in a fixed order, each dated with the export's
own time, never the clock's.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

INDEX = "index.csv"
BUNDLE = "fhir-bundle.json"
INDEX_COLUMNS = ("session_date", "state", "format", "file")
NOT_SIGNED = "not exported (unsigned draft)"
NO_NOTE = "not exported (no note)"
STATE_WORDS = {
    "final": "signed",
    "awaiting_cosign": "signed, awaiting co-signature",
    "draft": "draft",
    "queued": "dictation queued",
    "transcribing": "dictation being transcribed",
    "drafting": "dictation being drafted",
    "ready": "dictation ready",
    "failed": "dictation failed",
}


@dataclass(frozen=True)
class IndexRow:
    session_date: date
    # The note's state, or the dictation's while it has no note.
    state: str
    format_title: str
    # The PDF in the zip; None when the session has no signed note.
    file_name: str | None
    has_note: bool


def pdf_names(session_dates: Sequence[date]) -> list[str]:
    """A file name for each signed note, in order: its session's date, numbered when one day
    has several sessions. No client name: it is inside every PDF already."""
    seen: dict[date, int] = {}
    names = []
    for day in session_dates:
        seen[day] = seen.get(day, 0) + 1
        suffix = "" if seen[day] == 1 else f"-{seen[day]}"
        names.append(f"note-{day.isoformat()}{suffix}.pdf")
    return names


def _cell(value: str) -> str:
    # A cell starting with = + - @ runs as a formula in a spreadsheet (a custom template's
    # title is typed by an admin): quoted, as the audit log's CSV export does.
    return f"'{value}" if value[:1] in "=+-@" else value


def index_csv(rows: Sequence[IndexRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(INDEX_COLUMNS)
    for row in rows:
        file = row.file_name or (NOT_SIGNED if row.has_note else NO_NOTE)
        writer.writerow(
            [
                row.session_date.isoformat(),
                STATE_WORDS.get(row.state, row.state),
                _cell(row.format_title),
                file,
            ]
        )
    return out.getvalue().encode("utf-8")


def zip_archive(entries: Sequence[tuple[str, bytes]], made_at: datetime) -> bytes:
    """The entries, in the order given, each dated `made_at` (UTC) and readable by the owner
    only once unpacked."""
    stamp = made_at.astimezone(UTC).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            archive.writestr(info, data)
    return out.getvalue()
