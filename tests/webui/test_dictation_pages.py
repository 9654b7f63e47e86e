from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlmodel import select

from appliance.jobs.dictation_stages import claim_next, process
from appliance.models import AuditEvent
from appliance.runtime import Appliance
from tests.conftest import Browser, Clock, People, submit_dictation
from tests.fake_llm import fake_llm
from tests.wav import wav_bytes
from webui.auth import AUTO_RELOAD_PARAM

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
DETAILS = {
    "session_date": "2026-11-20",
    "start_time": "14:00",
    "duration_minutes": "50",
    "service_code": "90837",
    "modality": "dbt",
    "note_format": "birp",
}


def _post(
    alice: Browser, client_id: str, file: tuple[str, bytes, str] | None, **fields: str
) -> Any:
    return alice.send_dictation(client_id, file, **{**DETAILS, **fields})


def test_typed_notes_go_straight_to_drafting(signed_in: Callable[[str], Browser]) -> None:
    alice = signed_in("alice")
    client_id = alice.add_client()
    response = _post(alice, client_id, None, typed_text="Chain analysis of Tuesday's urge.")
    assert response.status_code == 303
    page = alice.get(response.headers["location"]).text
    assert "Chain analysis of Tuesday" in page and "Drafting" in page
    listing = alice.get(f"/clients/{client_id}").text
    assert "DBT" in listing and "BIRP" in listing


def test_an_upload_is_queued_and_its_progress_can_be_polled(
    signed_in: Callable[[str], Browser],
) -> None:
    alice = signed_in("alice")
    client_id = alice.add_client()
    wav = (AUDIO / "hello.wav").read_bytes()
    response = _post(alice, client_id, ("hello.wav", wav, "audio/wav"))
    location = response.headers["location"]
    status = alice.get(f"{location}/status").json()
    assert status["state"] == "queued" and status["queue_position"] == 1
    assert signed_in("bob").get(f"{location}/status").status_code == 404


def _audit_rows(appliance: Appliance) -> list[tuple[str, str]]:
    with appliance.unit_of_work() as db:
        return [(e.action, e.outcome) for e in db.exec(select(AuditEvent)).all()]


def test_progress_polls_write_no_audit_events_but_a_denied_poll_is_audited(
    signed_in: Callable[[str], Browser], appliance: Appliance
) -> None:
    alice = signed_in("alice")
    client_id = alice.add_client()
    wav = (AUDIO / "hello.wav").read_bytes()
    location = _post(alice, client_id, ("hello.wav", wav, "audio/wav")).headers["location"]
    bob = signed_in("bob")
    before = _audit_rows(appliance)
    for _ in range(5):  # ten seconds of an open progress page
        poll = alice.get(f"{location}/status", headers={"X-Background-Poll": "1"})
        assert poll.status_code == 200 and poll.json()["state"] == "queued"
    assert _audit_rows(appliance) == before
    assert bob.get(f"{location}/status").status_code == 404
    # The same two denials as bob opening the page: the client's, then the dictation's.
    assert _audit_rows(appliance)[len(before) :] == [
        ("client.view", "denied"),
        ("dictation.view", "denied"),
    ]


def _idle_deadline_moved(alice: Browser, frozen_clock: Clock, path: str) -> bool:
    """Whether a GET of `path` 10 minutes into a 15-minute idle timeout kept alice signed in
    6 minutes later (past the deadline the sign-in set)."""
    frozen_clock.advance(minutes=10)
    assert alice.get(path).status_code == 200
    frozen_clock.advance(minutes=6)
    response = alice.get("/account", follow_redirects=False)
    return response.status_code == 200


def test_the_progress_pages_automatic_reload_is_not_activity(
    signed_in: Callable[[str], Browser], frozen_clock: Clock
) -> None:
    alice = signed_in("alice")
    client_id = alice.add_client()
    location = _post(alice, client_id, None, typed_text="Diary card.").headers["location"]
    # What dictation-status.js loads when the draft is ready: the page, flagged as automatic.
    assert not _idle_deadline_moved(alice, frozen_clock, f"{location}?auto=1")


def test_opening_the_progress_page_by_hand_is_activity(
    signed_in: Callable[[str], Browser], frozen_clock: Clock
) -> None:
    alice = signed_in("alice")
    client_id = alice.add_client()
    location = _post(alice, client_id, None, typed_text="Diary card.").headers["location"]
    assert _idle_deadline_moved(alice, frozen_clock, location)


def test_the_progress_script_reloads_with_the_automatic_flag(
    signed_in: Callable[[str], Browser],
) -> None:
    script = signed_in("alice").get("/static/dictation-status.js").text
    assert f'var AUTO = "{AUTO_RELOAD_PARAM}"' in script and 'searchParams.set(AUTO, "1")' in script
    assert "location.reload" not in script


def test_the_same_form_sent_twice_stores_one_dictation(
    signed_in: Callable[[str], Browser],
) -> None:
    """The answer to a send can be lost (a dropped connection, a restart mid-request); the
    form, sent again with its own key, leads to the dictation the first send stored."""
    alice = signed_in("alice")
    client_id = alice.add_client()
    form = alice.get(f"/clients/{client_id}/dictations/new").text
    key = re.search(r'name="submission" value="([^"]+)"', form)
    assert key is not None
    sends = [
        _post(alice, client_id, None, typed_text="Reviewed the diary card.", submission=key[1])
        for _ in range(2)
    ]
    assert [s.status_code for s in sends] == [303, 303]
    assert sends[0].headers["location"] == sends[1].headers["location"]
    listing = alice.get(f"/clients/{client_id}").text
    assert len(set(re.findall(r"/dictations/[0-9a-f]{32}", listing))) == 1
    # A fresh form has a fresh key.
    again = alice.get(f"/clients/{client_id}/dictations/new").text
    assert key[1] not in again


def test_a_wrong_file_type_is_explained_and_the_form_is_kept(
    signed_in: Callable[[str], Browser],
) -> None:
    alice = signed_in("alice")
    client_id = alice.add_client()
    png = (AUDIO / "not-audio.png").read_bytes()
    response = _post(alice, client_id, ("scan.png", png, "image/png"))
    assert response.status_code == 400
    text = response.text
    assert "not a recording the appliance reads" in text
    assert re.search(r'<option value="dbt" selected>', text)
    # The form comes back with a key of its own, so sending it corrected stores one dictation.
    assert re.search(r'name="submission" value="[A-Za-z0-9_-]{16,32}"', text)
    assert "No dictations yet." in alice.get(f"/clients/{client_id}").text


def test_a_silent_recording_is_explained_on_the_form_and_nothing_is_stored(
    signed_in: Callable[[str], Browser],
) -> None:
    alice = signed_in("alice")
    client_id = alice.add_client()
    muted = wav_bytes(np.zeros(16_000 * 5))  # what a muted microphone records: digital silence
    response = _post(alice, client_id, ("recording.wav", muted, "audio/wav"))
    assert response.status_code == 400
    text = response.text
    assert "the recording is silent" in text and "microphone is on and not muted" in text
    assert "No dictations yet." in alice.get(f"/clients/{client_id}").text


def test_the_form_remembers_the_clinicians_last_modality_and_format(
    signed_in: Callable[[str], Browser],
) -> None:
    alice = signed_in("alice")
    client_id = alice.add_client()
    _post(alice, client_id, None, typed_text="notes")
    form = alice.get(f"/clients/{client_id}/dictations/new").text
    assert '<option value="dbt" selected>' in form and '<option value="birp" selected>' in form


def test_a_supervisor_reads_but_cannot_submit(signed_in: Callable[[str], Browser]) -> None:
    alice = signed_in("alice")
    client_id = alice.add_client()
    location = _post(alice, client_id, None, typed_text="Diary card reviewed.").headers["location"]
    carol = signed_in("carol")
    assert "Diary card reviewed." in carol.get(location).text
    assert carol.get(f"/clients/{client_id}/dictations/new").status_code == 403


def _note_page(browser: Browser, dictation_id: str) -> str:
    """The ready dictation's page links to its note: the note's page."""
    page = browser.get(f"/dictations/{dictation_id}").text
    link = re.search(r'href="(/notes/[0-9a-f]{32})"', page)
    assert link, "a ready dictation links to its note"
    return str(browser.get(link.group(1)).text)


def _statements(page: str) -> dict[str, str]:
    """Statement id -> its item's HTML, from the review page."""
    return dict(re.findall(r'<li class="statement" id="st-(s\d+)"[^>]*>(.*?)</li>', page, re.S))


def _text(item: str) -> str:
    found = re.search(r"<textarea[^>]*>([^<]*)</textarea>", item)
    assert found
    return found.group(1).strip()


def test_a_reworded_statement_shows_its_text_and_the_clinicians_original(
    appliance: Appliance,
    people: People,
    signed_in: Callable[[str], Browser],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dictated = "Client reported better sleep this week."
    better = "The client reported better sleep this week."
    with fake_llm() as llm:
        llm.rewrites[dictated] = better
        settings = {"llm_url": llm.base_url, "llm_class": "writer"}
        monkeypatch.setattr(appliance, "settings", appliance.settings.model_copy(update=settings))
        dictation_id = submit_dictation(appliance, people, typed_text=f"{dictated} She denies SI.")
        assert claim_next(appliance) == dictation_id
        process(appliance, dictation_id)
    items = _statements(_note_page(signed_in("alice"), dictation_id))
    by_text = {_text(item): item for item in items.values()}
    assert better in by_text, "the reworded statement is not on the page"
    assert re.search(
        r'<details class="original"><summary>[^<]*</summary>' + re.escape(dictated),
        by_text[better],
    )
    assert "<details" not in by_text["She denies SI."]


def test_each_statement_links_to_the_transcript_words_it_came_from(
    appliance: Appliance,
    people: People,
    signed_in: Callable[[str], Browser],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    typed = "Client reported better sleep this week. Homework is a thought record. She denies SI."
    with fake_llm() as llm:
        monkeypatch.setattr(
            appliance, "settings", appliance.settings.model_copy(update={"llm_url": llm.base_url})
        )
        dictation_id = submit_dictation(appliance, people, typed_text=typed)
        assert claim_next(appliance) == dictation_id
        process(appliance, dictation_id)
    page = _note_page(signed_in("alice"), dictation_id)
    refs = {_text(item): ref for ref, item in _statements(page).items()}
    sources = dict(re.findall(r'<span class="source" id="source-(s\d+)">([^<]+)</span>', page))
    assert set(refs) == {
        "Client reported better sleep this week.",
        "Homework is a thought record.",
        "She denies SI.",
    }
    assert all(sources[ref] == text for text, ref in refs.items())
    assert '<script src="/static/provenance.js" defer></script>' in page
