"""The one audio format a streamed recording is sent in: 16 kHz mono 16-bit little-endian PCM.

Chosen over MediaRecorder's WebM/Opus or Ogg timeslices because a PCM chunk stands alone: it
needs no container header from an earlier chunk to be read, its length says its duration
exactly (32,000 bytes a second), it cannot be malformed beyond an odd byte count, and chunks
join by concatenation. A WebM timeslice is a fragment of one container (only the first carries
its header), so a chunk can be neither checked nor transcribed alone, and a lost or doubled one
corrupts the rest. 16 kHz mono is what Whisper hears anyway (speech_io.audio.SAMPLE_RATE). The
cost is bandwidth, about 115 MB an hour on the clinic's own network, and the upload limit binds
sooner (APPLIANCE_MAX_UPLOAD_MB=100 holds about 54 minutes).
"""

from __future__ import annotations

import io
import wave

from speech_io.audio import SAMPLE_RATE

# What the client declares when it starts a recording; kept on the row (dictations.audio_format).
STREAM_FORMAT = "s16le-16k-mono"
STREAM_FORMATS = (STREAM_FORMAT,)
SAMPLE_BYTES = 2
BYTES_PER_SECOND = SAMPLE_RATE * SAMPLE_BYTES


def seconds_of(byte_count: int) -> float:
    return byte_count / BYTES_PER_SECOND


def whole_samples(chunk: bytes) -> bool:
    return len(chunk) % SAMPLE_BYTES == 0


def as_wav(pcm: bytes) -> bytes:
    """The PCM as a WAV file, the container the speech service reads like any upload. The
    standard library's `wave` writes the header: no need to hand-roll RIFF."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(SAMPLE_BYTES)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm)
    return out.getvalue()
