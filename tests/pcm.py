"""Streamed-recording audio for tests: hello.wav's samples as the raw PCM a browser would send."""

from __future__ import annotations

import wave
from pathlib import Path

HELLO_WAV = Path(__file__).resolve().parent / "fixtures" / "audio" / "hello.wav"
HELLO_TEXT = (HELLO_WAV.parent / "hello.txt").read_text()


def hello_pcm() -> bytes:
    """16 kHz mono 16-bit PCM, about 5 s of someone saying HELLO_TEXT."""
    with wave.open(str(HELLO_WAV)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16_000)
        return bytes(w.readframes(w.getnframes()))


def split(pcm: bytes, seconds: float) -> list[bytes]:
    """`pcm` cut into chunks of `seconds` (the last one shorter), on sample boundaries."""
    size = int(seconds * 16_000) * 2
    return [pcm[start : start + size] for start in range(0, len(pcm), size)]
