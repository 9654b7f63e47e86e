"""A streamed recording's audio through its keys: a data key per chunk, so that what has been
transcribed can be crypto-shredded while the rest is still arriving.

appliance.records.audio_chunks keeps the sealed files; this module keeps which key seals each
(recording_chunks) and reads, joins and shreds by byte range. A stretch's text stored, every
chunk wholly before its end is shredded (`shred_through`); the chunk a cut falls inside holds the
start of the next stretch too, and goes with that one, so at most one chunk (a few seconds) of
heard audio outlives its text until the next stretch or Stop. `shred_all` is the one call for
every path that ends a recording's audio (its transcript stored, a refusal, the idle sweep,
a deleted client).

Chunks stored before revision 0013 have no row: they stay under the dictation's audio key.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session, col, select

from appliance.crypto.envelope import RecordKey, crypto_shred, new_record_key, open_record_keys
from appliance.crypto.keyring import KeyRing
from appliance.models import DataKey, Dictation, RecordingChunk
from appliance.records import audio_chunks


def new_chunk_key(
    db: Session, keks: KeyRing, row: Dictation, sequence: int, size: int
) -> RecordKey:
    """The key chunk `sequence` is sealed under, recorded with where the chunk starts."""
    key = new_record_key(db, keks, "audio")
    db.add(
        RecordingChunk(
            dictation_id=row.id,
            sequence=sequence,
            data_key_id=key.id,
            start_byte=row.audio_bytes or 0,
            byte_count=size,
        )
    )
    return key


def _chunks(db: Session, dictation_id: str) -> list[RecordingChunk]:
    return list(
        db.exec(
            select(RecordingChunk)
            .where(RecordingChunk.dictation_id == dictation_id)
            .order_by(col(RecordingChunk.sequence))
        ).all()
    )


def chunk_key(db: Session, keks: KeyRing, row: Dictation, sequence: int) -> RecordKey:
    chunk = db.get(RecordingChunk, (row.id, sequence))
    key_id = chunk.data_key_id if chunk is not None else row.audio_key_id
    assert key_id is not None
    return open_record_keys(db, keks, [key_id])[key_id]


def read_pcm(
    db: Session, keks: KeyRing, data_dir: Path, row: Dictation, start: int, end: int | None = None
) -> bytes:
    """Bytes `start` to `end` (default: all that has arrived) of the recording's PCM, from the
    chunks that hold them, each opened with its own key. Only acknowledged chunks are read."""
    end = row.audio_bytes or 0 if end is None else end
    chunks = {c.sequence: c for c in _chunks(db, row.id)}
    if len(chunks) < row.chunks_received:  # stored before 0013: all under the audio key
        assert row.audio_key_id is not None
        whole = audio_chunks.read_joined(
            data_dir,
            row.id,
            open_record_keys(db, keks, [row.audio_key_id])[row.audio_key_id],
            row.chunks_received,
        )
        return whole[start:end]
    wanted = [
        c
        for n, c in sorted(chunks.items())
        if n < row.chunks_received and c.start_byte < end and c.start_byte + c.byte_count > start
    ]
    keys = open_record_keys(db, keks, [c.data_key_id for c in wanted])
    pieces = []
    for c in wanted:
        audio = audio_chunks.read_chunk(data_dir, row.id, keys[c.data_key_id], c.sequence)
        pieces.append(audio[max(0, start - c.start_byte) : end - c.start_byte])
    return b"".join(pieces)


def shred_through(
    db: Session, data_dir: Path, row: Dictation, since: int, end: int
) -> Callable[[], None]:
    """Shred the key of every chunk that ends after byte `since` (the previous stretch's end:
    those before were shredded with it) and at or before byte `end`; what removes their files,
    to run once the destruction is committed (appliance.records.after_commit)."""
    gone = [c for c in _chunks(db, row.id) if since < c.start_byte + c.byte_count <= end]
    _shred(db, [c.data_key_id for c in gone])
    sequences = [c.sequence for c in gone]

    def remove() -> None:
        for sequence in sequences:
            audio_chunks.remove_chunk(data_dir, row.id, sequence)

    return remove


def shred_all(db: Session, row: Dictation) -> None:
    """Every key the dictation's audio was ever sealed under: its audio key and each chunk's.
    The files are the caller's to remove after the commit (audio_store.remove)."""
    ids = [c.data_key_id for c in _chunks(db, row.id)]
    _shred(db, ids if row.audio_key_id is None else [row.audio_key_id, *ids])


def _shred(db: Session, key_ids: list[int]) -> None:
    # Loaded in one query first, so that crypto_shred finds each key in the session instead of
    # asking the database once per chunk (a 20-minute recording has 400) while Stop waits.
    if key_ids:
        db.exec(select(DataKey).where(col(DataKey.id).in_(key_ids))).all()
    for key_id in key_ids:
        crypto_shred(db, key_id)


def chunk_key_ids(db: Session, client_id: str) -> list[int]:
    """The chunk keys of every recording of a client (its deletion shreds them all)."""
    recordings = select(Dictation.id).where(Dictation.client_id == client_id)
    return list(
        db.exec(
            select(RecordingChunk.data_key_id).where(
                col(RecordingChunk.dictation_id).in_(recordings)
            )
        ).all()
    )
