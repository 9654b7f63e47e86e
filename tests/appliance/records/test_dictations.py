from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import func, select

from appliance.access import AccessDenied, NotFound
from appliance.identity.accounts import actor_for
from appliance.models import DataKey, Dictation
from appliance.practice.service_codes import DEFAULT_SERVICE_CODES
from appliance.records.clients import create_client
from appliance.records.dictations import (
    DictationInputError,
    SessionDetails,
    State,
    create_dictation,
    get_dictation,
    parse_details,
)
from appliance.runtime import Appliance
from tests.conftest import People

AUDIO = Path(__file__).resolve().parents[2] / "fixtures" / "audio"
TYPED = "Client reported improved sleep; reviewed the thought record; homework: two entries."


def details() -> SessionDetails:
    return parse_details(
        "2026-11-20", "14:00", "50", "90834", "cbt", "soap", service_codes=DEFAULT_SERVICE_CODES
    )


def _client(appliance: Appliance, people: People) -> str:
    with appliance.unit_of_work() as db:
        return create_client(db, appliance.keys, actor_for(people.alice), display_name="Ann A").id


def _submit(appliance: Appliance, people: People, client_id: str, **kwargs: object) -> str:
    with appliance.unit_of_work() as db:
        return create_dictation(
            db,
            appliance.keys,
            appliance.settings,
            actor_for(people.alice),
            client_id,
            details(),
            **kwargs,  # type: ignore[arg-type]
        )


def test_typed_notes_are_stored_sealed_as_the_transcript(
    appliance: Appliance, people: People
) -> None:
    dictation_id = _submit(appliance, people, _client(appliance, people), typed_text=TYPED)
    with appliance.unit_of_work() as db:
        view = get_dictation(db, appliance.keys, actor_for(people.alice), dictation_id)
        row = db.get(Dictation, dictation_id)
    assert view.state == State.DRAFTING and view.transcript == TYPED
    assert row is not None and row.transcript_sealed is not None
    assert b"thought record" not in row.transcript_sealed


def test_an_upload_is_sealed_on_disk_and_queued(appliance: Appliance, people: People) -> None:
    wav = (AUDIO / "hello.wav").read_bytes()
    dictation_id = _submit(appliance, people, _client(appliance, people), audio=wav)
    stored = (appliance.settings.data_dir / "audio" / f"{dictation_id}.sealed").read_bytes()
    assert b"RIFF" not in stored and wav[2000:2100] not in stored
    assert len(stored) >= len(wav)
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
    assert row is not None and row.state == State.QUEUED and row.audio_format == "wav"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"audio": (AUDIO / "not-audio.png").read_bytes()}, "not a recording"),
        ({}, "Record, upload or type"),
        ({"typed_text": "   "}, "Record, upload or type"),
        ({"audio": (AUDIO / "hello.wav").read_bytes(), "typed_text": "x"}, "not both"),
    ],
)
def test_bad_submissions_are_refused_and_nothing_is_stored(
    appliance: Appliance, people: People, kwargs: dict[str, object], message: str
) -> None:
    client_id = _client(appliance, people)
    with appliance.unit_of_work() as db:
        keys_before = db.exec(select(func.count()).select_from(DataKey)).one()
    with pytest.raises(DictationInputError, match=message):
        _submit(appliance, people, client_id, **kwargs)
    with appliance.unit_of_work() as db:
        assert db.exec(select(func.count()).select_from(Dictation)).one() == 0
        assert db.exec(select(func.count()).select_from(DataKey)).one() == keys_before
    audio_dir = appliance.settings.data_dir / "audio"
    assert not audio_dir.exists() or not list(audio_dir.glob("*"))


def test_an_oversized_upload_is_refused(appliance: Appliance, people: People) -> None:
    small = appliance.settings.model_copy(update={"max_upload_mb": 1})
    client_id = _client(appliance, people)
    with appliance.unit_of_work() as db, pytest.raises(DictationInputError, match="1 MB"):
        create_dictation(
            db,
            appliance.keys,
            small,
            actor_for(people.alice),
            client_id,
            details(),
            audio=b"RIFF" + b"\0" * (2 * 1024 * 1024),
        )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("session_date", "2999-01-01", "future"),
        ("session_date", "20/11/2026", "YYYY-MM-DD"),
        ("start_time", "2pm", "HH:MM"),
        ("duration_minutes", "0", "Duration"),
        ("service_code", "99999", "Service code"),
        ("modality", "reiki", "Modality"),
        ("note_format", "essay", "Note format"),
    ],
)
def test_session_details_are_checked_field_by_field(field: str, value: str, message: str) -> None:
    values = {
        "session_date": "2026-11-20",
        "start_time": "14:00",
        "duration_minutes": "50",
        "service_code": "90834",
        "modality": "cbt",
        "note_format": "soap",
    }
    values[field] = value
    with pytest.raises(DictationInputError, match=message):
        parse_details(**values, service_codes=DEFAULT_SERVICE_CODES)


def test_only_the_clients_clinician_submits(appliance: Appliance, people: People) -> None:
    client_id = _client(appliance, people)
    for persona, error in (("bob", NotFound), ("carol", AccessDenied), ("dave", AccessDenied)):
        with appliance.unit_of_work() as db, pytest.raises(error):
            create_dictation(
                db,
                appliance.keys,
                appliance.settings,
                actor_for(getattr(people, persona)),
                client_id,
                details(),
                typed_text=TYPED,
            )


def test_another_clinician_cannot_see_a_dictation(appliance: Appliance, people: People) -> None:
    dictation_id = _submit(appliance, people, _client(appliance, people), typed_text=TYPED)
    with appliance.unit_of_work() as db, pytest.raises(NotFound):
        get_dictation(db, appliance.keys, actor_for(people.bob), dictation_id)
    with appliance.unit_of_work() as db:
        supervisor_view = get_dictation(db, appliance.keys, actor_for(people.carol), dictation_id)
    assert supervisor_view.transcript == TYPED


KEY = "form-key-0123456789ab"


def _dictations(appliance: Appliance) -> int:
    with appliance.unit_of_work() as db:
        return int(db.exec(select(func.count()).select_from(Dictation)).one())


def test_a_form_sent_again_stores_one_dictation(appliance: Appliance, people: People) -> None:
    client_id = _client(appliance, people)
    first = _submit(appliance, people, client_id, typed_text=TYPED, submission_key=KEY)
    again = _submit(appliance, people, client_id, typed_text=TYPED, submission_key=KEY)
    other = _submit(appliance, people, client_id, typed_text=TYPED, submission_key=KEY[::-1])
    assert again == first != other
    assert _dictations(appliance) == 2


def test_two_sends_of_one_form_at_once_meet_at_the_key(
    appliance: Appliance, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL neither send sees the other before it inserts: the unique key decides, and
    the second send's sealed audio and keys are discarded."""
    from appliance.records import dictations

    client_id = _client(appliance, people)
    wav = (AUDIO / "hello.wav").read_bytes()
    first = _submit(appliance, people, client_id, audio=wav, submission_key=KEY)
    looked_up = dictations._submitted_before
    calls: list[str | None] = []

    def too_late_to_see(*args: object) -> str | None:
        calls.append("lookup")
        return None if len(calls) == 1 else looked_up(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(dictations, "_submitted_before", too_late_to_see)
    again = _submit(appliance, people, client_id, audio=wav, submission_key=KEY)
    assert again == first and len(calls) == 2
    assert _dictations(appliance) == 1
    assert [f.name for f in (appliance.settings.data_dir / "audio").iterdir()] == [
        f"{first}.sealed"
    ]


def test_a_malformed_submission_key_is_ignored(appliance: Appliance, people: People) -> None:
    client_id = _client(appliance, people)
    for _ in range(2):
        _submit(appliance, people, client_id, typed_text=TYPED, submission_key="x' OR 1=1 --")
    assert _dictations(appliance) == 2
