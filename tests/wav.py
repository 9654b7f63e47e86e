"""Test audio made in memory: 16-bit mono WAV from float samples."""

from __future__ import annotations

import io
import wave

import numpy as np
import numpy.typing as npt


def wav_bytes(samples: npt.ArrayLike, rate: int = 16_000) -> bytes:
    """`samples` in [-1, 1] (clipped) as a 16-bit mono WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()
