from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from appliance.drafting.draft import RISK
from appliance.notes import pdf
from appliance.notes.body import NoteFlag
from appliance.notes.checks import RISK_NOT_ADDRESSED, RISK_NOT_ASSESSED
from appliance.notes.pdf import AWAITING_COSIGN, PROCESS_NOTE_HEADING, FontsMissing, render_pdf
from appliance.notes.signed import NoteRecords
from tests.appliance.notes import signed_samples as samples

PROCESS_NOTE = "She spoke about her father & the <unsaid> things; keep for the next session."


def _reader(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data))


def _words(text: str) -> str:
    """Text with every run of whitespace (line wraps included) as one space."""
    return " ".join(text.split())


def _text(data: bytes) -> str:
    return _words("\n".join(page.extract_text() for page in _reader(data).pages))


def _statements(records: NoteRecords) -> list[str]:
    return [
        s["text"] for section in records.note.document["sections"] for s in section["statements"]
    ]


def test_every_statement_addendum_and_full_sha256_is_in_the_pdf_text() -> None:
    records = samples.cosigned_note()
    text = _text(render_pdf(records))
    assert len(_statements(records)) == 20
    for statement in _statements(records):
        assert _words(statement) in text
    assert len(records.addenda) == 2
    for addendum in records.addenda:
        assert _words(addendum.document["text"]) in text
        assert f"SHA-256 of addendum {addendum.document['sequence']}: {addendum.sha256}" in text
    assert f"SHA-256 of this signed note: {records.note.sha256}" in text
    assert records.cosignature is not None
    assert records.cosignature.sha256 in text


def test_the_pdf_reads_as_a_progress_note_with_client_session_details_and_signature() -> None:
    records = samples.final_note()
    text = _text(render_pdf(records))
    assert text.startswith("Progress note (SOAP)")
    assert "Client: Zoë Ñúñez · Record number: R-1042 · Date of birth: 1990-03-14" in text
    assert "Session: 2026-11-24 14:30, 50 min, 90834 (Psychotherapy, 45 min), CBT" in text
    for title in ("Subjective", "Objective", "Assessment", "Plan", "Risk", "CBT details"):
        assert title in text
    assert "Cognitive distortions: catastrophizing; mind reading" in text
    assert "Acknowledged at signing" in text
    assert "Check where this sentence belongs; it was placed by default." in text
    # The signed line is the one the record's own text ends with.
    signed_line = records.note.text.splitlines()[-1]
    assert signed_line == (
        "Electronically signed by Alice Smith, LMFT (alice) on 2026-11-27 13:00:00 UTC."
    )
    assert signed_line in text
    assert "LATE ENTRY" not in text


def test_an_empty_risk_section_prints_its_placeholder() -> None:
    body = samples.reviewed_body()
    acknowledged = NoteFlag(
        "f9",
        RISK_NOT_ADDRESSED,
        "Risk not addressed.",
        RISK,
        acknowledged_at="2026-11-27T12:59:00Z",
        acknowledged_by=samples.ALICE.id,
    )
    body = replace(
        body,
        sections=body.sections | {RISK: ()},
        flags=(*body.flags, acknowledged),
    )
    text = _text(render_pdf(samples.note_records(body=body)))
    assert f"Risk {RISK_NOT_ASSESSED}" in text
    assert "She denied suicidal ideation." not in text


def test_a_late_entry_is_marked_as_such() -> None:
    text = _text(render_pdf(samples.note_records(late_entry=True)))
    assert "LATE ENTRY: signed 2026-11-27 13:00:00 UTC, after the session." in text


def test_a_note_awaiting_cosignature_says_so_and_names_no_cosigner() -> None:
    text = _text(render_pdf(samples.awaiting_cosign_note()))
    assert AWAITING_COSIGN in text
    assert "Co-signed by" not in text
    assert "Carol Jones" not in text


def test_a_cosigned_note_prints_the_cosignature_and_what_it_covers() -> None:
    records = samples.cosigned_note()
    assert records.cosignature is not None
    text = _text(render_pdf(records))
    assert records.cosignature.text.strip() in text
    assert "Co-signed by Carol Jones, LCSW (carol) on 2026-11-29 13:00:00 UTC." in text
    assert "Covers: the note, addendum 1, addendum 2." in text
    assert AWAITING_COSIGN not in text


def test_a_final_note_without_supervision_has_no_cosignature_section() -> None:
    text = _text(render_pdf(samples.final_note()))
    assert "Co-signature" not in text
    assert AWAITING_COSIGN not in text


@pytest.mark.parametrize("build", [samples.awaiting_cosign_note, samples.cosigned_note])
def test_supervisor_returns_are_never_printed(build: Any) -> None:
    records = build()
    assert records.returns
    text = _text(render_pdf(records))
    assert samples.RETURN_COMMENT not in text
    assert "Returned" not in text
    assert records.returns[0].sha256 not in text


def test_psychotherapy_notes_are_printed_last_and_only_when_released() -> None:
    records = samples.cosigned_note()
    without = _text(render_pdf(records))
    assert PROCESS_NOTE_HEADING not in without
    assert "her father" not in without
    released = _text(render_pdf(records, process_note=PROCESS_NOTE))
    assert released.index("Co-signed by") < released.index(PROCESS_NOTE_HEADING)
    assert released.index(PROCESS_NOTE_HEADING) < released.index(PROCESS_NOTE)


def test_rendering_the_same_records_twice_gives_identical_bytes() -> None:
    first = render_pdf(samples.cosigned_note(), process_note=PROCESS_NOTE)
    second = render_pdf(samples.cosigned_note(), process_note=PROCESS_NOTE)
    assert first == second
    assert render_pdf(samples.awaiting_cosign_note()) != render_pdf(samples.cosigned_note())


def test_the_pdf_is_dated_by_its_latest_signature_never_the_clock() -> None:
    metadata = _reader(render_pdf(samples.cosigned_note())).metadata
    assert metadata is not None
    assert metadata.creation_date == datetime(2026, 11, 29, 13, 0, tzinfo=UTC)
    only_note = _reader(render_pdf(samples.final_note())).metadata
    assert only_note is not None
    assert only_note.creation_date == samples.NOTE_SIGNED_AT


def _fonts(data: bytes) -> dict[str, Any]:
    fonts: dict[str, Any] = {}
    for page in _reader(data).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts[str(font["/BaseFont"])] = font
    return fonts


def test_dejavu_sans_and_its_bold_are_embedded() -> None:
    fonts = _fonts(render_pdf(samples.cosigned_note()))
    names = sorted(fonts)
    assert any(name.endswith("+DejaVuSans") for name in names), names
    assert any(name.endswith("+DejaVuSans-Bold") for name in names), names
    for font in fonts.values():
        assert "DejaVuSans" in str(font["/BaseFont"])
        assert "/FontFile2" in font["/FontDescriptor"].get_object()  # the TrueType data itself


def test_a_name_with_diacritics_prints_as_spelled() -> None:
    text = _text(render_pdf(samples.final_note()))
    assert "Zoë Ñúñez" in text
    assert "Zoë continues sertraline 50 mg daily" in text


def test_markup_characters_in_a_statement_print_literally() -> None:
    statement = 'She wrote "<b>&" on the worksheet & said <i>1 < 2</i>.'
    text = _text(render_pdf(samples.note_records(added_statement=statement)))
    assert _words(statement) in text
    quoted = samples.ADDED_STATEMENT
    assert _words(quoted) in _text(render_pdf(samples.final_note()))


def test_every_page_has_a_footer_with_its_number_the_count_the_note_and_its_hash() -> None:
    records = samples.cosigned_note()
    pages = _reader(render_pdf(records, process_note=PROCESS_NOTE * 40)).pages
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        footer = (
            f"Page {number} of {len(pages)} · note {records.note_id} · "
            f"SHA-256 {records.note.sha256[:16]}…"
        )
        assert footer in _words(page.extract_text())


def test_missing_fonts_stop_rendering_with_the_debian_package_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(pdf, "FONT_DIR", tmp_path)
    monkeypatch.setattr(pdf, "_fonts_registered", False)
    with pytest.raises(FontsMissing, match="fonts-dejavu-core"):
        render_pdf(samples.final_note())
