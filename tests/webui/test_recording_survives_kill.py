"""Kill `appliance serve` (SIGKILL) while a recording streams in: no acknowledged chunk is lost.

Real processes over real HTTP. A client streams hello.wav in quarter-second chunks as fast as the
server takes them; the server is killed after a few acknowledgements, with the next chunk on its
way. After the restart the status says which chunk is expected next, every acknowledged chunk is
still there byte for byte (sent again, each is accepted as the same audio), the rest are sent, and
the stopped recording is transcribed and drafted into exactly what the same audio uploaded whole
is heard as.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from appliance.identity.accounts import actor_for
from appliance.models import User
from appliance.records.dictations import get_dictation
from appliance.runtime import open_appliance
from appliance.settings import Settings
from model_server.bundled import whisper_tiny_en_dir
from model_server.engines.faster_whisper_engine import FasterWhisperEngine
from tests.dictation_form import DICTATION_FORM
from tests.fake_llm import FakeLLM, fake_llm
from tests.model_server.conftest import MODEL_ID, ServerThread, make_service
from tests.pcm import HELLO_WAV, hello_pcm, split
from tests.served_app import LoopbackBrowser, serve_appliance

PASSWORD = "quiet-harbour-lantern-47"
CHUNKS = split(hello_pcm(), 0.25)
KILL_AFTER = 5


@pytest.fixture(scope="module")
def speech_url() -> Iterator[str]:
    engine = FasterWhisperEngine(whisper_tiny_en_dir(), device="cpu", cpu_threads=0, beam_size=1)
    with ServerThread(make_service(engine)) as server:
        yield server.base_url


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    with fake_llm() as server:
        yield server


class StreamingClient:
    def __init__(self, alice: LoopbackBrowser, client_id: str) -> None:
        self.alice = alice
        token = alice.form_token(f"/clients/{client_id}/dictations/new")
        self.headers = {
            **alice.cookie_header(),
            "x-csrf-token": token,
            "accept": "application/json",
        }

    def start(self, client_id: str) -> str:
        form = {**DICTATION_FORM, "audio_format": "s16le-16k-mono"}
        started = self.alice.http.post(
            f"/clients/{client_id}/recordings", data=form, headers=self.headers
        )
        assert started.status_code == 201, started.text
        return str(started.json()["id"])

    def chunk(self, dictation_id: str, sequence: int) -> httpx.Response:
        return self.alice.http.post(
            f"/dictations/{dictation_id}/chunks",
            data={"sequence": str(sequence)},
            files={"file": ("chunk.pcm", CHUNKS[sequence], "application/octet-stream")},
            headers=self.headers,
        )

    def stop(self, dictation_id: str) -> httpx.Response:
        return self.alice.http.post(f"/dictations/{dictation_id}/stop", headers=self.headers)

    def status(self, dictation_id: str) -> dict[str, object]:
        poll = {**self.alice.cookie_header(), "x-background-poll": "1"}
        reply = self.alice.http.get(f"/dictations/{dictation_id}/status", headers=poll)
        return dict(reply.json())


def _signed_in(base: str) -> LoopbackBrowser:
    alice = LoopbackBrowser(base)
    alice.post("/login", {"username": "alice", "password": PASSWORD}, "/login")
    return alice


def _stream_until_killed(
    served_process: subprocess.Popen[str], client: StreamingClient, dictation_id: str
) -> list[int]:
    """Chunks sent back to back from a thread; the server killed once KILL_AFTER are
    acknowledged. The sequence numbers acknowledged."""
    acknowledged: list[int] = []

    def send() -> None:
        for n in range(len(CHUNKS)):
            try:
                reply = client.chunk(dictation_id, n)
            except httpx.TransportError:
                return  # the server died with this chunk on its way
            if reply.status_code != 201:
                return
            acknowledged.append(n)

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < KILL_AFTER:
        assert time.monotonic() < deadline and sender.is_alive(), acknowledged
        time.sleep(0.001)
    served_process.kill()  # SIGKILL: no shutdown handler runs
    served_process.wait(timeout=10)
    sender.join(timeout=30)
    return acknowledged


def _wait_ready(client: StreamingClient, ids: list[str]) -> None:
    deadline = time.monotonic() + 90
    while True:
        states = [client.status(i)["state"] for i in ids]
        assert "failed" not in states, states
        if all(s == "ready" for s in states):
            return
        assert time.monotonic() < deadline, states
        time.sleep(0.2)


def test_a_killed_server_loses_no_acknowledged_chunk_and_the_recording_goes_on(
    tmp_path: Path, speech_url: str, llm: FakeLLM
) -> None:
    settings = {
        "speech_url": speech_url,
        "speech_model": MODEL_ID,
        "llm_url": llm.base_url,
        "workers": "1",
        "job_lease_seconds": "5",
    }
    with serve_appliance(tmp_path, **settings) as served:
        served.add_user("alice", "clinician", PASSWORD)
        alice = _signed_in(served.base)
        client_id = alice.add_client()
        client = StreamingClient(alice, client_id)
        dictation_id = client.start(client_id)
        acknowledged = _stream_until_killed(served.process, client, dictation_id)
        alice.http.close()
    assert acknowledged == list(range(len(acknowledged)))
    assert KILL_AFTER <= len(acknowledged) < len(CHUNKS), "the kill did not land mid-recording"

    with serve_appliance(tmp_path, init=False, **settings) as served:
        alice = _signed_in(served.base)
        client = StreamingClient(alice, client_id)
        status = client.status(dictation_id)
        assert status["state"] == "recording"
        next_sequence = status["next_sequence"]
        assert isinstance(next_sequence, int)
        # Every acknowledged chunk; perhaps the one in flight too, stored but never answered.
        assert len(acknowledged) <= next_sequence <= len(acknowledged) + 1
        for n in acknowledged:
            resent = client.chunk(dictation_id, n)
            assert resent.status_code == 200, (n, resent.text)  # the same audio, kept whole
        for n in range(next_sequence, len(CHUNKS)):
            assert client.chunk(dictation_id, n).status_code == 201, n
        assert client.stop(dictation_id).status_code == 200
        whole = alice.http.post(
            f"/clients/{client_id}/dictations",
            data=alice.dictation_form(client_id),
            files={"file": ("hello.wav", HELLO_WAV.read_bytes(), "audio/wav")},
            headers=alice.cookie_header(),
        )
        assert whole.status_code == 303, whole.text[:300]
        uploaded_id = whole.headers["location"].rsplit("/", 1)[1]
        _wait_ready(client, [dictation_id, uploaded_id])
        alice.http.close()

    appliance = open_appliance(Settings(data_dir=tmp_path / "data"), migrate=False)
    try:
        with appliance.unit_of_work() as db:
            user = db.exec(select(User).where(User.username == "alice")).one()
            actor = actor_for(user)
            streamed = get_dictation(db, appliance.keys, actor, dictation_id)
            uploaded = get_dictation(db, appliance.keys, actor, uploaded_id)
    finally:
        appliance.engine.dispose()
    assert streamed.draft is not None and streamed.audio_deleted_at is not None
    assert streamed.transcript and streamed.transcript == uploaded.transcript
    verify = subprocess.run(
        [sys.executable, "-m", "appliance.cli", "audit", "verify"],
        env={**os.environ, "APPLIANCE_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
