"""Kill `appliance serve` (SIGKILL) while it is transcribing, start it again: nothing is lost.

Real processes, a real speech service (tiny.en, slowed so the kill lands mid-job) and the
stand-in LLM. Afterwards every dictation is ready with a draft, each was transcribed and drafted
exactly once according to the audit chain, and the chain still verifies.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

from model_server.bundled import whisper_tiny_en_dir
from model_server.engines.base import Samples, TranscribeOptions, Transcript
from model_server.engines.faster_whisper_engine import FasterWhisperEngine
from tests.fake_llm import FakeLLM
from tests.model_server.conftest import MODEL_ID, ServerThread, make_service
from tests.served_app import LoopbackBrowser, Served, serve_appliance

AUDIO = Path(__file__).resolve().parents[2] / "fixtures" / "audio"
PASSWORD = "quiet-harbour-lantern-47"
RECORDINGS, TYPED = 4, 2
LEASE_SECONDS = "5"


class SlowEngine:
    """tiny.en that takes a second longer per recording, so a kill can land mid-transcription."""

    name = "faster-whisper"

    def __init__(self) -> None:
        self.real = FasterWhisperEngine(
            whisper_tiny_en_dir(), device="cpu", cpu_threads=0, beam_size=1
        )

    def transcribe(self, audio: Samples, options: TranscribeOptions) -> Transcript:
        time.sleep(1.0)
        return self.real.transcribe(audio, options)


@pytest.fixture(scope="module")
def speech_url() -> Iterator[str]:
    with ServerThread(make_service(SlowEngine())) as server:  # type: ignore[arg-type]
        yield server.base_url


def _submit_all(served: Served) -> tuple[LoopbackBrowser, list[str]]:
    served.add_user("alice", "clinician", PASSWORD)
    alice = LoopbackBrowser(served.base)
    alice.post("/login", {"username": "alice", "password": PASSWORD}, "/login")
    client_id = alice.add_client()
    ids = []
    for n in range(RECORDINGS + TYPED):
        form = alice.dictation_form(client_id)
        # Both kinds go as multipart, as the browser's form sends them.
        files: dict[str, tuple[str | None, bytes | str, str]] = (
            {"file": ("hello.m4a", (AUDIO / "hello.m4a").read_bytes(), "audio/mp4")}
            if n < RECORDINGS
            else {"typed_text": (None, f"Typed note {n}. The client reported better sleep.", "")}
        )
        reply = alice.http.post(
            f"/clients/{client_id}/dictations",
            data=form,
            files=files,
            headers=alice.cookie_header(),
        )
        assert reply.status_code == 303, reply.text[:300]
        ids.append(reply.headers["location"].rsplit("/", 1)[1])
    return alice, ids


def _states(alice: LoopbackBrowser, ids: list[str]) -> list[str]:
    poll = {**alice.cookie_header(), "X-Background-Poll": "1"}
    return [alice.http.get(f"/dictations/{i}/status", headers=poll).json()["state"] for i in ids]


def test_a_killed_server_resumes_every_job_and_drafts_none_twice(
    tmp_path: Path, speech_url: str, llm: FakeLLM
) -> None:
    settings = {
        "speech_url": speech_url,
        "speech_model": MODEL_ID,
        "llm_url": llm.base_url,
        "workers": "2",
        "job_lease_seconds": LEASE_SECONDS,
    }
    with serve_appliance(tmp_path, **settings) as served:
        alice, ids = _submit_all(served)
        deadline = time.monotonic() + 30
        while "transcribing" not in _states(alice, ids):
            assert time.monotonic() < deadline, "no job started transcribing"
            time.sleep(0.05)
        served.process.kill()  # SIGKILL: no shutdown handler runs
        served.process.wait(timeout=10)
        alice.http.close()
    unfinished = _states_after_restart(tmp_path, settings, ids)
    assert unfinished == [], unfinished

    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'data' / 'appliance.db'}")
    with engine.connect() as db:
        rows = db.execute(
            sqlalchemy.text("select id, state, draft_sealed is not null from dictations")
        ).all()
        events = db.execute(
            sqlalchemy.text(
                "select action, object_id from audit_events "
                "where action in ('dictation.transcribe', 'dictation.draft')"
            )
        ).all()
    engine.dispose()
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert all(state == "ready" and drafted for _, state, drafted in rows)
    counts = Counter((action, object_id) for action, object_id in events)
    recordings, typed = ids[:RECORDINGS], ids[RECORDINGS:]
    assert all(counts[("dictation.transcribe", i)] == 1 for i in recordings)
    assert all(counts[("dictation.transcribe", i)] == 0 for i in typed)
    assert all(counts[("dictation.draft", i)] == 1 for i in ids), counts
    verify = subprocess.run(
        [sys.executable, "-m", "appliance.cli", "audit", "verify"],
        env={**os.environ, "APPLIANCE_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def _states_after_restart(tmp_path: Path, settings: dict[str, str], ids: list[str]) -> list[str]:
    """Start the server again on the same data; the ids not ready within three minutes."""
    with serve_appliance(tmp_path, init=False, **settings) as served:
        alice = LoopbackBrowser(served.base)
        try:
            alice.post("/login", {"username": "alice", "password": PASSWORD}, "/login")
            # 180 s, not 60: 6 jobs on 2 busy cores can pass a minute; a job lost never finishes.
            deadline = time.monotonic() + 180
            while True:
                states = _states(alice, ids)
                assert "failed" not in states, states
                if all(s == "ready" for s in states) or time.monotonic() > deadline:
                    return [i for i, s in zip(ids, states, strict=True) if s != "ready"]
                time.sleep(0.2)
        finally:
            alice.http.close()
