"""Shared speech fixtures: one loaded engine per test session, served over real HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from model_server.bundled import whisper_tiny_en_dir
from model_server.engines.base import Samples, TranscribeOptions, Transcript
from model_server.engines.faster_whisper_engine import FasterWhisperEngine
from model_server.settings import ModelServerSettings
from model_server.speech_app import create_speech_app
from model_server.speech_service import SpeechService
from tests.served_app import free_port
from tests.tools import require_module

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DICTATIONS = FIXTURES / "dictations"
AUDIO = FIXTURES / "audio"
MODEL_ID = "whisper-tiny.en"


@dataclass(frozen=True)
class Dictation:
    id: str
    audio: Path
    script: str
    key_terms: list[str]


def dictations() -> list[Dictation]:
    manifest = json.loads((DICTATIONS / "manifest.json").read_text())
    return [
        Dictation(
            d["id"],
            DICTATIONS / d["audio"],
            (DICTATIONS / d["script"]).read_text(),
            d["key_terms"],
        )
        for d in manifest["dictations"]
    ]


@pytest.fixture(scope="session")
def whisper_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny.en converted once per session into openai-whisper's checkpoint format."""
    require_module("whisper", "the checkpoint is made for openai-whisper and loaded by it")
    from model_server.ct2_checkpoint import convert

    return convert(whisper_tiny_en_dir(), tmp_path_factory.mktemp("whisper") / "tiny.en.pt")


@pytest.fixture(scope="session")
def faster_whisper() -> FasterWhisperEngine:
    return FasterWhisperEngine(whisper_tiny_en_dir(), device="cpu", cpu_threads=0, beam_size=5)


def make_service(engine: FasterWhisperEngine, **settings: object) -> SpeechService:
    return SpeechService(engine, ModelServerSettings(**settings), MODEL_ID)  # type: ignore[arg-type]


class RecordingEngine:
    """Remembers the options each request reached the engine with."""

    name = "faster-whisper"

    def __init__(self, real: FasterWhisperEngine) -> None:
        self.real = real
        self.options: list[TranscribeOptions] = []

    def transcribe(self, audio: Samples, options: TranscribeOptions) -> Transcript:
        self.options.append(options)
        return self.real.transcribe(audio, options)


class ServerThread:
    """uvicorn in a thread of this process, so the official client talks real HTTP to it."""

    def __init__(self, service: SpeechService) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_speech_app(service),
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health").status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("speech server did not start")

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def speech_server(faster_whisper: FasterWhisperEngine) -> Iterator[ServerThread]:
    with ServerThread(make_service(faster_whisper)) as server:
        yield server
