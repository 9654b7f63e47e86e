"""Streamed recordings through the service layer: start, append chunks, stop."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from appliance.access import AccessDenied, NotFound
from appliance.audit.chain import EventData
from appliance.audit.record import Outcome
from appliance.crypto.envelope import open_record_key
from appliance.identity.accounts import actor_for
from appliance.models import DataKey, Dictation
from appliance.records import audio_chunks, recording_audio
from appliance.records.client_deletion import delete_client
from appliance.records.dictations import DictationInputError, State
from appliance.records.pcm_stream import STREAM_FORMAT
from appliance.records.recordings import (
    MAX_CHUNK_BYTES,
    ChunkReceipt,
    RecordingRefused,
    Refusal,
    append_chunk,
    finish_recording,
)
from appliance.roles import Actor
from appliance.runtime import Appliance
from tests.appliance.records.recordings_started import start_alices_recording
from tests.conftest import PASSWORD, People
from tests.pcm import hello_pcm, split

CHUNKS = split(hello_pcm(), 1.0)


def _append(
    appliance: Appliance, actor: Actor, dictation_id: str, sequence: int, audio: bytes
) -> ChunkReceipt:
    with appliance.unit_of_work() as db:
        return append_chunk(
            db, appliance.keys, appliance.settings, actor, dictation_id, sequence, audio
        )


def _stop(appliance: Appliance, actor: Actor, dictation_id: str) -> None:
    with appliance.unit_of_work() as db:
        finish_recording(db, appliance.keys, actor, dictation_id)


def _row(appliance: Appliance, dictation_id: str) -> Dictation:
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
    assert row is not None
    return row


def _stored(appliance: Appliance, dictation_id: str, sequence: int) -> bytes:
    row = _row(appliance, dictation_id)
    with appliance.unit_of_work() as db:
        key = recording_audio.chunk_key(db, appliance.keys.keks, row, sequence)
    return audio_chunks.read_chunk(appliance.settings.data_dir, dictation_id, key, sequence)


def _chunk_files(appliance: Appliance, dictation_id: str) -> list[str]:
    folder = audio_chunks.chunk_dir(appliance.settings.data_dir, dictation_id)
    return sorted(p.name for p in folder.glob("*")) if folder.exists() else []


def test_it_starts_a_recording_with_an_audio_key_and_no_audio(
    appliance: Appliance, people: People, audit_events: list[EventData]
) -> None:
    dictation_id = start_alices_recording(appliance, people)
    row = _row(appliance, dictation_id)
    assert (row.state, row.source, row.audio_format) == ("recording", "stream", STREAM_FORMAT)
    assert row.audio_key_id is not None and row.chunks_received == 0
    assert _chunk_files(appliance, dictation_id) == []
    created = [e for e in audit_events if e.action == "dictation.create"]
    assert [(e.object_id, e.outcome) for e in created] == [(dictation_id, Outcome.ALLOWED)]


def test_it_refuses_an_undeclared_audio_format_and_stores_nothing(
    appliance: Appliance, people: People
) -> None:
    with pytest.raises(DictationInputError, match=STREAM_FORMAT):
        start_alices_recording(appliance, people, stream_format="webm-opus")
    with appliance.unit_of_work() as db:
        assert db.exec(select(func.count()).select_from(Dictation)).one() == 0


def test_a_start_sent_again_with_its_key_gives_the_same_recording(
    appliance: Appliance, people: People
) -> None:
    first = start_alices_recording(appliance, people, submission_key="k" * 20)
    client_id = _row(appliance, first).client_id
    assert (
        start_alices_recording(appliance, people, submission_key="k" * 20, client_id=client_id)
        == first
    )


def test_each_chunk_is_sealed_on_disk_and_counted(appliance: Appliance, people: People) -> None:
    alice = actor_for(people.alice)
    dictation_id = start_alices_recording(appliance, people)
    receipts = [_append(appliance, alice, dictation_id, n, c) for n, c in enumerate(CHUNKS[:3])]
    assert [(r.sequence, r.next_sequence, r.stored) for r in receipts] == [
        (0, 1, True),
        (1, 2, True),
        (2, 3, True),
    ]
    assert receipts[-1].received_seconds == pytest.approx(3.0)
    assert _chunk_files(appliance, dictation_id) == [
        "000000.sealed",
        "000001.sealed",
        "000002.sealed",
    ]
    folder = audio_chunks.chunk_dir(appliance.settings.data_dir, dictation_id)
    for n in range(3):
        on_disk = (folder / f"{n:06d}.sealed").read_bytes()
        assert CHUNKS[n][1000:1100] not in on_disk  # never in clear
        assert _stored(appliance, dictation_id, n) == CHUNKS[n]
    row = _row(appliance, dictation_id)
    assert row.chunks_received == 3 and row.audio_bytes == sum(map(len, CHUNKS[:3]))


def test_a_chunk_cannot_be_read_as_another_number(appliance: Appliance, people: People) -> None:
    alice = actor_for(people.alice)
    dictation_id = start_alices_recording(appliance, people)
    _append(appliance, alice, dictation_id, 0, CHUNKS[0])
    folder = audio_chunks.chunk_dir(appliance.settings.data_dir, dictation_id)
    (folder / "000001.sealed").write_bytes((folder / "000000.sealed").read_bytes())
    with pytest.raises(Exception, match="does not decrypt"):
        _stored(appliance, dictation_id, 1)


def test_a_chunk_sent_again_with_the_same_audio_is_accepted_and_changes_nothing(
    appliance: Appliance, people: People, audit_events: list[EventData]
) -> None:
    alice = actor_for(people.alice)
    dictation_id = start_alices_recording(appliance, people)
    _append(appliance, alice, dictation_id, 0, CHUNKS[0])
    _append(appliance, alice, dictation_id, 1, CHUNKS[1])
    sealed = audio_chunks.chunk_dir(appliance.settings.data_dir, dictation_id) / "000000.sealed"
    before = sealed.read_bytes()
    again = _append(appliance, alice, dictation_id, 0, CHUNKS[0])
    assert (again.stored, again.next_sequence) == (False, 2)
    assert sealed.read_bytes() == before
    row = _row(appliance, dictation_id)
    assert row.chunks_received == 2 and row.audio_bytes == len(CHUNKS[0]) + len(CHUNKS[1])
    chunk_events = [e.reason for e in audit_events if e.action == "dictation.chunk"]
    assert chunk_events == [None, None, "sent_again"]


def test_the_same_number_with_other_audio_is_refused_and_the_first_kept(
    appliance: Appliance, people: People, audit_events: list[EventData]
) -> None:
    alice = actor_for(people.alice)
    dictation_id = start_alices_recording(appliance, people)
    _append(appliance, alice, dictation_id, 0, CHUNKS[0])
    with pytest.raises(RecordingRefused, match="different audio") as refused:
        _append(appliance, alice, dictation_id, 0, CHUNKS[1])
    assert (refused.value.refusal, refused.value.expected_sequence) == (Refusal.DIFFERENT, 1)
    assert _stored(appliance, dictation_id, 0) == CHUNKS[0]
    assert _row(appliance, dictation_id).chunks_received == 1
    denied = [e for e in audit_events if e.outcome == Outcome.DENIED]
    assert [(e.action, e.reason) for e in denied] == [("dictation.chunk", "different")]


def test_a_gap_is_refused_with_the_number_expected(appliance: Appliance, people: People) -> None:
    alice = actor_for(people.alice)
    dictation_id = start_alices_recording(appliance, people)
    _append(appliance, alice, dictation_id, 0, CHUNKS[0])
    with pytest.raises(RecordingRefused, match="send part 1 next") as refused:
        _append(appliance, alice, dictation_id, 2, CHUNKS[2])
    assert (refused.value.refusal, refused.value.expected_sequence) == (Refusal.GAP, 1)
    assert _row(appliance, dictation_id).chunks_received == 1
    assert _chunk_files(appliance, dictation_id) == ["000000.sealed"]


@pytest.mark.parametrize(
    "audio", [b"", b"\x01\x02\x03", b"\0" * (MAX_CHUNK_BYTES + 2)], ids=["empty", "odd", "long"]
)
def test_a_chunk_that_is_not_whole_samples_of_at_most_a_minute_is_refused(
    appliance: Appliance, people: People, audio: bytes
) -> None:
    dictation_id = start_alices_recording(appliance, people)
    with pytest.raises(RecordingRefused) as refused:
        _append(appliance, actor_for(people.alice), dictation_id, 0, audio)
    assert refused.value.refusal == Refusal.BAD_CHUNK
    assert _row(appliance, dictation_id).chunks_received == 0


def test_chunks_past_the_upload_limit_are_refused_and_what_arrived_is_kept(
    appliance: Appliance, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 1 MB holds three 10-second chunks (320,000 bytes each) and not a fourth.
    monkeypatch.setattr(
        appliance, "settings", appliance.settings.model_copy(update={"max_upload_mb": 1})
    )
    alice = actor_for(people.alice)
    dictation_id = start_alices_recording(appliance, people)
    ten_seconds = b"\x10\x00" * 160_000
    for n in range(3):
        _append(appliance, alice, dictation_id, n, ten_seconds)
    with pytest.raises(RecordingRefused, match="What arrived is kept") as refused:
        _append(appliance, alice, dictation_id, 3, ten_seconds)
    assert (refused.value.refusal, refused.value.expected_sequence) == (Refusal.LIMIT, 3)
    _stop(appliance, alice, dictation_id)
    row = _row(appliance, dictation_id)
    assert (row.state, row.chunks_received, row.audio_bytes) == ("queued", 3, 960_000)


def test_bob_cannot_append_to_or_stop_alices_recording(
    appliance: Appliance, people: People, audit_events: list[EventData]
) -> None:
    dictation_id = start_alices_recording(appliance, people)
    bob = actor_for(people.bob)
    with pytest.raises(NotFound):
        _append(appliance, bob, dictation_id, 0, CHUNKS[0])
    with pytest.raises(NotFound):
        _stop(appliance, bob, dictation_id)
    assert _row(appliance, dictation_id).state == "recording"
    assert _chunk_files(appliance, dictation_id) == []
    denied = [(e.action, e.actor_id) for e in audit_events if e.outcome == Outcome.DENIED]
    assert denied == [("dictation.chunk", people.bob.id), ("dictation.finish", people.bob.id)]


def test_her_supervisor_reads_but_cannot_append(appliance: Appliance, people: People) -> None:
    dictation_id = start_alices_recording(appliance, people)
    with pytest.raises(AccessDenied):
        _append(appliance, actor_for(people.carol), dictation_id, 0, CHUNKS[0])
    assert _row(appliance, dictation_id).chunks_received == 0


def test_a_dictation_that_was_uploaded_takes_no_chunks(
    appliance: Appliance, people: People
) -> None:
    from tests.conftest import submit_dictation

    uploaded = submit_dictation(appliance, people, typed_text="Typed notes of the session.")
    with pytest.raises(NotFound):
        _append(appliance, actor_for(people.alice), uploaded, 0, CHUNKS[0])


def test_stop_queues_the_recording_and_a_second_stop_changes_nothing(
    appliance: Appliance, people: People, audit_events: list[EventData]
) -> None:
    alice = actor_for(people.alice)
    dictation_id = start_alices_recording(appliance, people)
    _append(appliance, alice, dictation_id, 0, CHUNKS[0])
    _stop(appliance, alice, dictation_id)
    assert _row(appliance, dictation_id).state == State.QUEUED
    _stop(appliance, alice, dictation_id)
    assert _row(appliance, dictation_id).state == State.QUEUED
    finishes = [e.reason for e in audit_events if e.action == "dictation.finish"]
    assert finishes == [None, "sent_again"]


def test_no_chunk_is_taken_once_the_recording_is_stopped(
    appliance: Appliance, people: People
) -> None:
    alice = actor_for(people.alice)
    dictation_id = start_alices_recording(appliance, people)
    _append(appliance, alice, dictation_id, 0, CHUNKS[0])
    _stop(appliance, alice, dictation_id)
    with pytest.raises(RecordingRefused, match="stopped") as refused:
        _append(appliance, alice, dictation_id, 1, CHUNKS[1])
    assert refused.value.refusal == Refusal.NOT_RECORDING
    assert _chunk_files(appliance, dictation_id) == ["000000.sealed"]


def test_a_stop_before_any_chunk_is_refused_and_the_recording_stays_open(
    appliance: Appliance, people: People
) -> None:
    alice = actor_for(people.alice)
    dictation_id = start_alices_recording(appliance, people)
    with pytest.raises(RecordingRefused, match="send part 0") as refused:
        _stop(appliance, alice, dictation_id)
    assert refused.value.refusal == Refusal.NOTHING_RECORDED
    assert _row(appliance, dictation_id).state == State.RECORDING
    _append(appliance, alice, dictation_id, 0, CHUNKS[0])


def test_a_chunk_whose_transaction_rolls_back_leaves_no_file_and_is_not_counted(
    appliance: Appliance, people: People
) -> None:
    alice = actor_for(people.alice)
    dictation_id = start_alices_recording(appliance, people)
    with pytest.raises(RuntimeError), appliance.unit_of_work() as db:
        append_chunk(db, appliance.keys, appliance.settings, alice, dictation_id, 0, CHUNKS[0])
        raise RuntimeError("the commit never happens")
    assert _row(appliance, dictation_id).chunks_received == 0
    assert _chunk_files(appliance, dictation_id) == []


def test_a_file_left_by_a_crash_before_the_commit_is_replaced_by_the_resend(
    appliance: Appliance, people: People
) -> None:
    """Killed after the fsync and before the commit: the row never counted the chunk, the
    client never had its answer, and sends it again; the file left behind must not stand."""
    alice = actor_for(people.alice)
    dictation_id = start_alices_recording(appliance, people)
    row = _row(appliance, dictation_id)
    assert row.audio_key_id is not None
    with appliance.unit_of_work() as db:
        key = open_record_key(db, appliance.keys.keks, row.audio_key_id)
    audio_chunks.write_chunk(appliance.settings.data_dir, dictation_id, key, 0, CHUNKS[3])
    receipt = _append(appliance, alice, dictation_id, 0, CHUNKS[0])
    assert receipt.stored and _stored(appliance, dictation_id, 0) == CHUNKS[0]


def test_deleting_the_client_ends_the_recording_and_removes_its_chunks(
    appliance: Appliance, people: People
) -> None:
    alice = actor_for(people.alice)
    dictation_id = start_alices_recording(appliance, people)
    _append(appliance, alice, dictation_id, 0, CHUNKS[0])
    row = _row(appliance, dictation_id)
    with appliance.unit_of_work() as db:
        outcome = delete_client(
            db,
            appliance.settings,
            appliance.keys,
            alice,
            row.client_id,
            typed_name="Ann A",
            password=PASSWORD,
        )
    assert outcome.deleted
    row = _row(appliance, dictation_id)
    assert row.state == State.FAILED and row.audio_deleted_at is not None
    assert _chunk_files(appliance, dictation_id) == []
    with appliance.unit_of_work() as db:
        key = db.get(DataKey, row.audio_key_id)
        assert key is not None and key.wrapped is None
    with pytest.raises(NotFound):
        _append(appliance, alice, dictation_id, 1, CHUNKS[1])
