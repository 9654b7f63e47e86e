"""The signed note as a PDF: the copy a clinician prints, or sends to another provider's EHR.

Made from the signed records' canonical documents only (appliance.notes.canonical), never from
the working copy: the note, then each addendum with its own signature and SHA-256, then the
co-signature (or "Awaiting co-signature"). Supervisor returns are never printed. Psychotherapy
notes are printed only when the clinician released them into this one copy (`process_note`).

Identical records give identical bytes: ReportLab's invariant mode, and the document's date is
the latest signature it prints, never the time of rendering. DejaVu Sans (regular and bold) is
embedded, subset, so every name prints as spelled ("Zoë Ñúñez") whatever the reader has
installed; it comes from the Debian package fonts-dejavu-core (scripts/bootstrap.sh installs it).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
)
from reportlab.platypus.flowables import HRFlowable

from appliance.notes.canonical import client_line, readable_utc, session_line, signed_line
from appliance.notes.signed import NoteRecords, SignedRecord

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_PACKAGE = "fonts-dejavu-core"
REGULAR = "DejaVuSans"
BOLD = "DejaVuSans-Bold"
_FONT_FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf"}

AWAITING_COSIGN = "Awaiting co-signature"
PROCESS_NOTE_HEADING = "Psychotherapy notes (released by the clinician)"
CREATOR = "Therapy Notes Appliance"
MARGIN = 0.75 * inch
GREY = colors.HexColor("#555555")


class FontsMissing(RuntimeError):
    """The DejaVu fonts the PDF embeds are not installed; the message says which package."""


_fonts_lock = threading.Lock()
_fonts_registered = False


def _register_fonts() -> None:
    """Registers DejaVu Sans with ReportLab once per process (parsing the TTFs takes ~50 ms)."""
    global _fonts_registered
    with _fonts_lock:
        if _fonts_registered:
            return
        paths = {name: FONT_DIR / file for name, file in _FONT_FILES.items()}
        missing = [str(path) for path in paths.values() if not path.is_file()]
        if missing:
            raise FontsMissing(
                f"The PDF copy embeds DejaVu Sans, and {', '.join(missing)} is missing: install "
                f"the Debian package {FONT_PACKAGE} (apt-get install {FONT_PACKAGE})."
            )
        for name, path in paths.items():
            pdfmetrics.registerFont(TTFont(name, str(path)))
        pdfmetrics.registerFontFamily(
            REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD
        )
        _fonts_registered = True


def _style(name: str, **overrides: Any) -> Any:
    settings: dict[str, Any] = {
        "fontName": REGULAR,
        "fontSize": 10,
        "leading": 13,
        "alignment": TA_LEFT,
        "bulletFontName": REGULAR,
    }
    return ParagraphStyle(name, **(settings | overrides))


TITLE = _style("title", fontName=BOLD, fontSize=16, leading=20, spaceAfter=4)
FACTS = _style("facts", spaceAfter=1)
MARKER = _style("marker", fontName=BOLD, textColor=colors.HexColor("#9a1b1b"), spaceBefore=4)
HEADING = _style("heading", fontName=BOLD, fontSize=11, leading=14, spaceBefore=9, spaceAfter=3)
BODY = _style("body", spaceAfter=2)
BULLET = _style("bullet", leftIndent=14, bulletIndent=3, spaceAfter=2)
PLACEHOLDER = _style("placeholder", textColor=GREY, spaceAfter=2)
SIGNATURE = _style("signature", fontName=BOLD, spaceBefore=10)
SMALL = _style("small", fontSize=8.5, leading=11, textColor=GREY)
FOOTER_SIZE = 8


def _markup(text: str) -> str:
    """Plain text as Paragraph markup: <, > and & literal; line breaks kept."""
    return escape(text).replace("\n", "<br/>")


def _para(text: str, style: Any) -> Any:
    return Paragraph(_markup(text), style)


def _bullet(text: str) -> Any:
    return Paragraph(_markup(text), BULLET, bulletText="•")


def _labelled(label: str, text: str, style: Any = BODY) -> Any:
    return Paragraph(f"<b>{_markup(label)}</b> {_markup(text)}", style)


def _hash_line(what: str, record: SignedRecord) -> Any:
    return _labelled(f"SHA-256 of {what}:", record.sha256, SMALL)


def _note(document: Mapping[str, Any], record: SignedRecord) -> list[Flowable]:
    session = document["session"]
    story: list[Flowable] = [
        _para(f"Progress note ({session['format_title']})", TITLE),
        _para(client_line(document["client"]), FACTS),
        _para(session_line(session), FACTS),
    ]
    if document["late_entry"]:
        story.append(
            _para(
                f"LATE ENTRY: signed {readable_utc(document['signed_at'])}, after the session.",
                MARKER,
            )
        )
    story.append(HRFlowable(width="100%", thickness=0.6, color=GREY, spaceBefore=6))
    for section in document["sections"]:
        story.append(_para(section["title"], HEADING))
        if section["statements"]:
            story.extend(_bullet(s["text"]) for s in section["statements"])
        else:
            story.append(_para(section["placeholder"] or "Nothing recorded.", PLACEHOLDER))
    if document["fields"]:
        story.append(_para(f"{session['modality_label']} details", HEADING))
        for item in document["fields"]:
            values = "; ".join(v["value"] for v in item["values"])
            story.append(_labelled(f"{item['label']}:", values))
    if document["acknowledged_flags"]:
        story.append(_para("Acknowledged at signing", HEADING))
        story.extend(_bullet(flag["message"]) for flag in document["acknowledged_flags"])
    story.append(
        KeepTogether(
            [
                _para(signed_line("Electronically signed", document), SIGNATURE),
                _para(f"Note {document['note_id']}", SMALL),
                _hash_line("this signed note", record),
            ]
        )
    )
    return story


def _addendum(record: SignedRecord) -> list[Flowable]:
    document = record.document
    return [
        KeepTogether(
            [
                _para(
                    f"Addendum {document['sequence']} to the note of {document['session']['date']}",
                    HEADING,
                ),
                _para(document["text"], BODY),
                _para(signed_line("Electronically signed", document), SIGNATURE),
                _hash_line(f"addendum {document['sequence']}", record),
            ]
        )
    ]


def _cosignature(records: NoteRecords) -> list[Flowable]:
    record = records.cosignature
    if record is None:
        if records.state != "awaiting_cosign":
            return []
        return [
            _para("Co-signature", HEADING),
            _para(
                f"{AWAITING_COSIGN}: this note becomes final when the supervisor co-signs it.",
                MARKER,
            ),
        ]
    names = {records.note.sha256: "the note"} | {
        a.sha256: f"addendum {a.document['sequence']}" for a in records.addenda
    }
    covers = [names.get(sha, f"record {sha[:16]}…") for sha in record.document["cosigns"]]
    return [
        KeepTogether(
            [
                _para("Co-signature", HEADING),
                _para(signed_line("Co-signed", record.document), SIGNATURE),
                _para(f"Covers: {', '.join(covers)}.", SMALL),
                _hash_line("the co-signature", record),
            ]
        )
    ]


def _process_note(text: str) -> list[Flowable]:
    return [
        HRFlowable(width="100%", thickness=0.6, color=GREY, spaceBefore=12),
        _para(PROCESS_NOTE_HEADING, HEADING),
        _para(text.strip(), BODY),
    ]


def _pdf_date(moment: datetime) -> str:
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    return utc.strftime("D:%Y%m%d%H%M%S+00'00'")


class _FooterCanvas(Canvas):  # type: ignore[misc]
    """Holds every page until the end, so that each footer can say "Page n of m"; pages after
    the first also name the client at the top."""

    def __init__(self, *args: Any, header: str, footer: str, created: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header = header
        self._footer = footer
        self._held: list[dict[str, Any]] = []
        # The PDF's CreationDate and ModDate: the records' own date, never the clock's.
        self.setDateFormatter(lambda *_: created)

    def showPage(self) -> None:
        self._held.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held)
        for number, page in enumerate(self._held, start=1):
            self.__dict__.update(page)
            self.setFont(REGULAR, FOOTER_SIZE)
            self.setFillColor(GREY)
            if number > 1:  # whose record this is, on every page a reader may hold alone
                self.drawString(MARGIN, LETTER[1] - MARGIN / 2, self._header)
            self.drawCentredString(
                LETTER[0] / 2, MARGIN / 2, f"Page {number} of {total} · {self._footer}"
            )
            super().showPage()
        super().save()


def render_pdf(records: NoteRecords, *, process_note: str | None = None) -> bytes:
    """The note, its addenda and co-signature as one PDF (bytes), the same for the same records.

    `process_note`: psychotherapy notes the clinician released into this copy; printed last,
    under their own heading. Never pass them otherwise."""
    _register_fonts()
    document = records.note.document
    session = document["session"]
    story = _note(document, records.note)
    for addendum in records.addenda:
        story.extend(_addendum(addendum))
    story.extend(_cosignature(records))
    if process_note is not None and process_note.strip():
        story.extend(_process_note(process_note))
    printed = [records.note, *records.addenda]
    if records.cosignature is not None:
        printed.append(records.cosignature)
    created = max(record.signed_at for record in printed)
    out = BytesIO()
    template = SimpleDocTemplate(
        out,
        pagesize=LETTER,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"Progress note ({session['format_title']}), session of {session['date']}",
        author=document["signer"]["signature_line"],
        subject=f"note {records.note_id}, SHA-256 {records.note.sha256}",
        creator=CREATOR,
        invariant=1,
        # Else every page names Helvetica, unembedded, though nothing is drawn in it.
        initialFontName=REGULAR,
        initialFontSize=10,
        pageCompression=1,
        lang="en",
    )
    canvas = partial(
        _FooterCanvas,
        header=f"{client_line(document['client'])} · session of {session['date']}",
        footer=f"note {records.note_id} · SHA-256 {records.note.sha256[:16]}…",
        created=_pdf_date(created),
    )
    template.build(story, canvasmaker=canvas)
    return out.getvalue()
