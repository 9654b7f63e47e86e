"""The engine's handling of a batched decode that looped, with fakes for faster-whisper's two
decoders (a real loop depends on one recording and one model; the check and the retry are the
engine's own logic)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from model_server.engines.base import SAMPLE_RATE, TranscribeOptions
from model_server.engines.faster_whisper_engine import FasterWhisperEngine

LOOP = "my voice, " + "lorazepam, " * 12
CLEAN_FIRST = "Did an acceptance exercise with the ringing."
CLEAN_AGAIN = "By the end he called the ringing one sound out of many."


@dataclass
class FakeSegment:
    start: float
    end: float
    text: str


@dataclass
class FakeInfo:
    language: str = "en"


class FakeDecoder:
    """Answers each call with the next of `answers`, and records what it was asked."""

    def __init__(self, answers: list[list[FakeSegment]]) -> None:
        self.answers = answers
        self.calls: list[dict[str, Any]] = []

    def transcribe(self, audio: Any, **options: Any) -> tuple[Iterator[FakeSegment], FakeInfo]:
        self.calls.append({"samples": len(audio), **options})
        return iter(self.answers.pop(0)), FakeInfo()


def engine_with(batched: FakeDecoder, sequential: FakeDecoder) -> FasterWhisperEngine:
    engine = FasterWhisperEngine.__new__(FasterWhisperEngine)
    engine.batched, engine.model = batched, sequential  # type: ignore[assignment]
    engine.beam_size, engine.batch_size = 5, 8
    return engine


AUDIO = np.zeros(20 * SAMPLE_RATE, dtype=np.float32)
HINTED = TranscribeOptions(language="en", hotwords="ACT, lorazepam", vad=True)


def test_a_stretch_that_looped_is_decoded_again_and_replaced() -> None:
    batched = FakeDecoder([[FakeSegment(0, 8, CLEAN_FIRST), FakeSegment(8, 20, LOOP)]])
    sequential = FakeDecoder([[FakeSegment(0, 12, CLEAN_AGAIN)]])
    transcript = engine_with(batched, sequential).transcribe(AUDIO, HINTED)
    assert transcript.text == f"{CLEAN_FIRST} {CLEAN_AGAIN}"
    assert "lorazepam" not in transcript.text
    assert transcript.redecoded == 1
    # Only the looped stretch is decoded again, with the same hint.
    (again,) = sequential.calls
    assert again["samples"] == 12 * SAMPLE_RATE
    assert again["hotwords"] == "ACT, lorazepam"
    assert again["vad_filter"] is False


def test_a_retry_that_loops_too_is_tried_without_the_hint() -> None:
    batched = FakeDecoder([[FakeSegment(0, 20, LOOP)]])
    sequential = FakeDecoder([[FakeSegment(0, 20, LOOP)], [FakeSegment(0, 20, CLEAN_AGAIN)]])
    transcript = engine_with(batched, sequential).transcribe(AUDIO, HINTED)
    assert transcript.text == CLEAN_AGAIN
    assert [call["hotwords"] for call in sequential.calls] == ["ACT, lorazepam", None]


def test_a_loop_every_retry_repeats_is_kept_as_heard() -> None:
    batched = FakeDecoder([[FakeSegment(0, 20, LOOP)]])
    sequential = FakeDecoder([[FakeSegment(0, 20, LOOP)], [FakeSegment(0, 20, LOOP)]])
    transcript = engine_with(batched, sequential).transcribe(AUDIO, HINTED)
    assert transcript.text == LOOP.strip()
    assert transcript.redecoded == 1


def test_a_clean_batched_decode_is_not_decoded_again() -> None:
    batched = FakeDecoder([[FakeSegment(0, 8, CLEAN_FIRST), FakeSegment(8, 20, CLEAN_AGAIN)]])
    sequential = FakeDecoder([])
    transcript = engine_with(batched, sequential).transcribe(AUDIO, HINTED)
    assert transcript.text == f"{CLEAN_FIRST} {CLEAN_AGAIN}"
    assert transcript.redecoded == 0
    assert sequential.calls == []
