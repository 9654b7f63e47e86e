"""Whisper in process, with the options the speech service gives the appliance's requests."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from model_server.audio import decode
from model_server.engines.faster_whisper_engine import FasterWhisperEngine
from model_server.engines.loader import whisper_dir
from model_server.settings import ModelServerSettings
from model_server.speech_service import SpeechService


@dataclass(frozen=True)
class Heard:
    text: str
    audio_seconds: float
    wall_seconds: float


class Transcriber:
    """faster-whisper on the configured (default: bundled base) weights, beam from settings
    (default 5), with the options `SpeechService.options_for` picks for what
    appliance.speech_client sends: language "en", no prompt, the dictation's vocabulary."""

    def __init__(self, settings: ModelServerSettings) -> None:
        started = time.perf_counter()
        self.model_dir = whisper_dir(settings)
        self.engine = FasterWhisperEngine(
            self.model_dir,
            device=settings.device,
            cpu_threads=settings.cpu_threads,
            beam_size=settings.beam_size,
        )
        self.beam_size = settings.beam_size
        self.service = SpeechService(self.engine, settings, "eval")
        sample = self.service.options_for("en", None, "x")
        self.vocabulary_use = (
            "hotwords" if sample.hotwords else "initial prompt" if sample.prompt else "nothing"
        )
        self.vad = sample.vad
        self.load_seconds = time.perf_counter() - started

    def transcribe(self, path: Path, vocabulary: str) -> Heard:
        started = time.perf_counter()
        audio = decode(path.read_bytes(), max_seconds=30 * 60, claimed_audio=True)
        options = self.service.options_for("en", None, vocabulary)
        text = self.engine.transcribe(audio.samples, options).text
        return Heard(text, audio.duration, time.perf_counter() - started)
