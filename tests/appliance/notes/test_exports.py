"""Client exports as a service: who may ask for one, the one download, and the 24-hour expiry."""

from __future__ import annotations

import io
import zipfile

import pytest

from appliance.access import AccessDenied, NotFound
from appliance.audit.chain import EventData
from appliance.crypto.envelope import KeyShredded, open_record_key
from appliance.identity.emergency_access import grant_access
from appliance.jobs.export_stages import claim_next, process
from appliance.models import Export
from appliance.notes import export_files
from appliance.notes.exports import (
    ExportUnavailable,
    download_export,
    expire_exports,
    export_status,
    list_exports,
    request_export,
)
from appliance.roles import Actor
from appliance.runtime import Appliance
from tests.appliance.client_history import CLIENT_NAME, TwoSessions, two_sessions
from tests.conftest import Clock, People


@pytest.fixture
def history(appliance: Appliance, actors: dict[str, Actor]) -> TwoSessions:
    return two_sessions(appliance, actors["alice"])


def _request(appliance: Appliance, actor: Actor, client_id: str, **kw: bool) -> str:
    with appliance.unit_of_work() as db:
        return request_export(db, appliance.keys, actor, client_id, **kw)


def _download(appliance: Appliance, actor: Actor, export_id: str) -> bytes:
    with appliance.unit_of_work() as db:
        return download_export(db, appliance.settings, appliance.keys, actor, export_id)


def _row(appliance: Appliance, export_id: str) -> Export:
    with appliance.unit_of_work() as db:
        row = db.get(Export, export_id)
        assert row is not None
        db.expunge(row)
        return row


@pytest.fixture
def ready(appliance: Appliance, actors: dict[str, Actor], history: TwoSessions) -> str:
    """An export of the history's client by alice, built and waiting to be downloaded."""
    export_id = _request(appliance, actors["alice"], history.client_id)
    assert claim_next(appliance) == export_id
    process(appliance, export_id)
    assert _row(appliance, export_id).state == "ready"
    return export_id


def _key_is_shredded(appliance: Appliance, data_key_id: int) -> bool:
    with appliance.unit_of_work() as db:
        try:
            open_record_key(db, appliance.keys.keks, data_key_id)
        except KeyShredded:
            return True
    return False


def test_a_request_is_queued_and_audited_by_client_id(
    appliance: Appliance,
    actors: dict[str, Actor],
    history: TwoSessions,
    audit_events: list[EventData],
) -> None:
    export_id = _request(appliance, actors["alice"], history.client_id, include_process_notes=True)
    row = _row(appliance, export_id)
    assert (row.state, row.client_id, row.include_process_notes) == (
        "queued",
        history.client_id,
        True,
    )
    requests = [e for e in audit_events if e.action == "client.export"]
    assert [(e.outcome, e.object_type, e.object_id, e.reason) for e in requests] == [
        ("allowed", "client", history.client_id, "with_process_notes")
    ]


def test_asking_again_while_one_is_pending_returns_the_same_export(
    appliance: Appliance, actors: dict[str, Actor], history: TwoSessions
) -> None:
    first = _request(appliance, actors["alice"], history.client_id)
    assert _request(appliance, actors["alice"], history.client_id) == first
    other = _request(appliance, actors["alice"], history.client_id, include_process_notes=True)
    assert other != first


def test_only_the_clients_clinician_may_request_an_export(
    appliance: Appliance,
    people: People,
    actors: dict[str, Actor],
    history: TwoSessions,
    audit_events: list[EventData],
) -> None:
    with appliance.unit_of_work() as db, pytest.raises(NotFound):
        request_export(db, appliance.keys, actors["bob"], history.client_id)
    for persona in ("carol", "dave", "erin"):  # the supervisor reads the client, but no more
        with appliance.unit_of_work() as db, pytest.raises(AccessDenied):
            request_export(db, appliance.keys, actors[persona], history.client_id)
    with appliance.unit_of_work() as db:
        grant_access(
            db,
            appliance.keys,
            actors["dave"],
            grantee=people.bob,
            owner=people.alice,
            reason="alice on unplanned leave; ticket 4411",
            hours=4,
        )
    with appliance.unit_of_work() as db, pytest.raises(AccessDenied):
        request_export(db, appliance.keys, actors["bob"], history.client_id)
    denials = [e.actor_id for e in audit_events if e.action == "client.export"]
    assert denials == [
        people.bob.id,
        people.carol.id,
        people.dave.id,
        people.erin.id,
        people.bob.id,
    ]
    assert all(e.outcome == "denied" for e in audit_events if e.action == "client.export")


def test_the_export_downloads_once_then_its_key_and_file_are_gone(
    appliance: Appliance,
    actors: dict[str, Actor],
    ready: str,
    audit_events: list[EventData],
) -> None:
    archive = _download(appliance, actors["alice"], ready)
    assert zipfile.ZipFile(io.BytesIO(archive)).namelist()[0] == "index.csv"
    row = _row(appliance, ready)
    assert row.state == "downloaded" and row.finished_at is not None
    assert _key_is_shredded(appliance, row.data_key_id)
    assert not export_files.path(appliance.settings.data_dir, ready).exists()
    with pytest.raises(ExportUnavailable, match="already downloaded"):
        _download(appliance, actors["alice"], ready)
    downloads = [
        (e.outcome, e.object_id, e.reason)
        for e in audit_events
        if e.action == "client.export_download"
    ]
    assert downloads == [("allowed", ready, None), ("failed", ready, "downloaded")]


def test_a_download_whose_transaction_rolls_back_keeps_the_export(
    appliance: Appliance, actors: dict[str, Actor], ready: str
) -> None:
    with pytest.raises(RuntimeError), appliance.unit_of_work() as db:
        download_export(db, appliance.settings, appliance.keys, actors["alice"], ready)
        raise RuntimeError("the response could not be sent")
    assert _row(appliance, ready).state == "ready"
    assert export_files.path(appliance.settings.data_dir, ready).exists()
    assert _download(appliance, actors["alice"], ready)


def test_only_the_requester_sees_or_downloads_an_export(
    appliance: Appliance, actors: dict[str, Actor], ready: str, history: TwoSessions
) -> None:
    for persona in ("bob", "carol", "dave", "erin"):
        with appliance.unit_of_work() as db, pytest.raises(NotFound):
            download_export(db, appliance.settings, appliance.keys, actors[persona], ready)
        with appliance.unit_of_work() as db, pytest.raises(NotFound):
            export_status(db, appliance.keys, actors[persona], ready)
    with appliance.unit_of_work() as db, pytest.raises(AccessDenied):
        list_exports(db, appliance.keys, actors["carol"], history.client_id)
    assert _row(appliance, ready).state == "ready"


def test_the_status_shows_progress_and_a_file_name_without_phi(
    appliance: Appliance, actors: dict[str, Actor], history: TwoSessions, ready: str
) -> None:
    with appliance.unit_of_work() as db:
        status = export_status(db, appliance.keys, actors["alice"], ready)
        listed = list_exports(db, appliance.keys, actors["alice"], history.client_id)
    assert (status.state, status.progress, status.total) == ("ready", 2, 2)
    assert [e.id for e in listed] == [ready]
    assert status.file_name.endswith(".zip")
    assert not any(part.lower() in status.file_name for part in CLIENT_NAME.split())


def test_a_ready_export_expires_after_24_hours(
    appliance: Appliance,
    actors: dict[str, Actor],
    ready: str,
    frozen_clock: Clock,
    audit_events: list[EventData],
) -> None:
    frozen_clock.advance(hours=23, minutes=59)
    assert expire_exports(appliance) == 0
    assert _row(appliance, ready).state == "ready"
    frozen_clock.advance(minutes=2)
    assert expire_exports(appliance) == 1
    row = _row(appliance, ready)
    assert row.state == "expired" and _key_is_shredded(appliance, row.data_key_id)
    assert not export_files.path(appliance.settings.data_dir, ready).exists()
    with pytest.raises(ExportUnavailable, match="expired"):
        _download(appliance, actors["alice"], ready)
    expiries = [(e.actor_role, e.object_id) for e in audit_events if e.action.endswith("_expire")]
    assert expiries == [("system", ready)]


def test_a_download_after_24_hours_is_refused_before_the_expiry_task_runs(
    appliance: Appliance, actors: dict[str, Actor], ready: str, frozen_clock: Clock
) -> None:
    frozen_clock.advance(hours=24, seconds=1)
    with pytest.raises(ExportUnavailable, match="expired"):
        _download(appliance, actors["alice"], ready)
    assert export_files.path(appliance.settings.data_dir, ready).exists()  # the task's job


def test_an_export_still_being_built_cannot_be_downloaded(
    appliance: Appliance, actors: dict[str, Actor], history: TwoSessions
) -> None:
    export_id = _request(appliance, actors["alice"], history.client_id)
    with pytest.raises(ExportUnavailable, match="still being prepared"):
        _download(appliance, actors["alice"], export_id)


def test_expiry_also_removes_files_that_finished_exports_left_behind(
    appliance: Appliance, actors: dict[str, Actor], ready: str
) -> None:
    sealed = export_files.path(appliance.settings.data_dir, ready).read_bytes()
    _download(appliance, actors["alice"], ready)
    # As if the process had stopped between the download's commit and the file's removal.
    export_files.path(appliance.settings.data_dir, ready).write_bytes(sealed)
    assert expire_exports(appliance) == 0
    assert export_files.stored_ids(appliance.settings.data_dir) == []
