"""Streamed-recording audio for tests: hello.wav's samples as the raw PCM a browser would send."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

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


def speechlike(
    seconds: float, pauses: dict[float, float], loudness: float = 0.3, seed: int = 7
) -> bytes:
    """PCM shaped like dictation for tests of where it is cut (speech_io.stretches): noise
    bursts like syllables, with 0.12 s dips every 0.9 s like the stops inside and between
    words, over a faint room hiss, and nearly silent for each pause {start second: length}."""
    rng = np.random.default_rng(seed)
    samples = rng.normal(0, loudness, int(seconds * 16_000))
    for at in np.arange(0.9, seconds, 0.9):
        samples[int(at * 16_000) : int((at + 0.12) * 16_000)] *= 0.01
    for start, length in pauses.items():
        samples[int(start * 16_000) : int((start + length) * 16_000)] *= 0.01
    samples += rng.normal(0, 0.002, len(samples))
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
