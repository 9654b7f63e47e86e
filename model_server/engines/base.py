"""The interface every speech engine implements.

Audio reaches an engine already decoded: 16 kHz mono float32 samples in [-1, 1] (see
speech_io.audio), so engines never touch files, formats or the network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from speech_io.audio import SAMPLE_RATE, Samples

__all__ = ["SAMPLE_RATE", "Samples", "Segment", "SpeechEngine", "TranscribeOptions", "Transcript"]


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    duration: float
    segments: list[Segment] = field(default_factory=list)
    # Stretches decoded a second time because the first decode looped
    # (model_server.engines.decode_failure).
    redecoded: int = 0


@dataclass(frozen=True)
class TranscribeOptions:
    language: str | None = None
    # OpenAI's `prompt`: text the recording is expected to follow or contain.
    prompt: str | None = None
    # Terms to favour while decoding (faster-whisper's `hotwords`; other engines ignore them).
    hotwords: str | None = None
    # Silero voice-activity filtering (faster-whisper only).
    vad: bool = True


class SpeechEngine(Protocol):
    """Loaded once per process; `transcribe` may be called from several threads."""

    name: str  # e.g. "faster-whisper"

    def transcribe(self, audio: Samples, options: TranscribeOptions) -> Transcript: ...
