"""Whisper in process, with the options the speech service gives the appliance's requests."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from appliance.drafting import pipeline
from model_server.engines.faster_whisper_engine import FasterWhisperEngine
from model_server.engines.loader import whisper_dir
from model_server.settings import ModelServerSettings
from model_server.speech_service import SpeechService
from speech_io.audio import decode, sniff_format


@dataclass(frozen=True)
class Heard:
    text: str
    audio_seconds: float
    wall_seconds: float


class Transcriber:
    """faster-whisper on the configured (default: bundled base) weights, beam from settings
    (default 5), with the options `SpeechService.options_for` picks for what
    appliance.inference.speech sends: language "en", no prompt, the dictation's vocabulary."""

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
        self.last_audio_seconds = 0.0

    def transcribe(self, audio: bytes, audio_format: str, vocabulary: str | None = None) -> str:
        """appliance.drafting.pipeline.Transcriber, in process; keeps the audio's length."""
        decoded = decode(audio, max_seconds=30 * 60, claimed_audio=True)
        self.last_audio_seconds = decoded.duration
        options = self.service.options_for("en", None, vocabulary)
        return self.engine.transcribe(decoded.samples, options).text

    def hear(self, path: Path, modality: str) -> Heard:
        """One case's recording through the appliance's transcription step, timed."""
        audio = path.read_bytes()
        started = time.perf_counter()
        text = pipeline.transcribe(self, audio, sniff_format(audio) or path.suffix[1:], modality)
        return Heard(text, self.last_audio_seconds, time.perf_counter() - started)
