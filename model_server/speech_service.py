"""Speech-to-text: decode the upload, pick the vocabulary hint, run the engine, count it."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from prometheus_client import Counter, Histogram

from model_server.engines.base import SpeechEngine, TranscribeOptions, Transcript
from model_server.openai_errors import APIError
from model_server.settings import ModelServerSettings
from speech_io.audio import AudioError, claims_audio, decode
from speech_io.protocol import SpeechErrorCode

logger = logging.getLogger("model_server.speech")

TRANSCRIPTIONS = Counter(
    "model_server_transcriptions_total", "Transcription requests by outcome.", ["outcome"]
)
AUDIO_SECONDS = Counter("model_server_audio_seconds_total", "Seconds of audio transcribed.")
TRANSCRIBE_SECONDS = Histogram(
    "model_server_transcribe_seconds",
    "Wall time to decode and transcribe one upload.",
    buckets=(0.5, 1, 2, 5, 10, 20, 40, 80, 160, 320),
)
# A stretch the engine decoded twice because its first decode looped (Whisper repeating a word
# until it ran out of tokens): a rising rate says the hint or the model needs a look.
REDECODED = Counter(
    "model_server_redecoded_segments_total",
    "Stretches of audio decoded again because the first decode repeated itself in a loop.",
)
STATUS_OF = {
    SpeechErrorCode.UNSUPPORTED: 415,
    SpeechErrorCode.CORRUPT: 400,
    SpeechErrorCode.TOO_LONG: 413,
    SpeechErrorCode.EMPTY: 400,
    SpeechErrorCode.SILENT: 400,
}


@dataclass(frozen=True)
class Request:
    data: bytes
    filename: str | None
    content_type: str | None
    language: str | None
    prompt: str | None
    # Not in OpenAI's API (other servers ignore it): terms this dictation is likely to contain,
    # e.g. its therapy modality's. It replaces the server's own list, used the same way.
    vocabulary: str | None = None


class SpeechService:
    def __init__(self, engine: SpeechEngine, settings: ModelServerSettings, model_id: str) -> None:
        self.engine, self.settings, self.model_id = engine, settings, model_id

    def options_for(
        self, language: str | None, prompt: str | None, vocabulary: str | None = None
    ) -> TranscribeOptions:
        vad = self.settings.vad
        if prompt:  # the caller's own hint wins
            return TranscribeOptions(language, prompt, None, vad)
        mode = self.settings.vocabulary_mode
        if mode == "auto":
            mode = "hotwords" if self.engine.name == "faster-whisper" else "off"
        vocabulary = vocabulary or self.settings.vocabulary
        if mode == "prompt":
            return TranscribeOptions(language, vocabulary, None, vad)
        if mode == "hotwords":
            return TranscribeOptions(language, None, vocabulary, vad)
        return TranscribeOptions(language, None, None, vad)

    def transcribe(self, request: Request) -> Transcript:
        """Runs in a worker thread. Logs sizes and timings only, never what was said."""
        started = time.perf_counter()
        try:
            audio = decode(
                request.data,
                max_seconds=self.settings.max_audio_minutes * 60,
                claimed_audio=claims_audio(request.filename, request.content_type),
            )
        except AudioError as exc:
            TRANSCRIPTIONS.labels(exc.problem.value).inc()
            raise APIError(
                STATUS_OF[exc.problem], str(exc), param="file", code=exc.problem
            ) from exc
        transcript = self.engine.transcribe(
            audio.samples, self.options_for(request.language, request.prompt, request.vocabulary)
        )
        elapsed = time.perf_counter() - started
        TRANSCRIPTIONS.labels("ok").inc()
        AUDIO_SECONDS.inc(audio.duration)
        REDECODED.inc(transcript.redecoded)
        TRANSCRIBE_SECONDS.observe(elapsed)
        logger.info(
            "transcribed %s %.1fs of audio in %.2fs (%d segments, %d decoded again)",
            audio.format,
            audio.duration,
            elapsed,
            len(transcript.segments),
            transcript.redecoded,
        )
        return transcript
