"""make eval's streamed hearing (issue 13), with a fake transcriber that reports what it was
given (fast: no models)."""

from __future__ import annotations

import io
import wave
from itertools import pairwise

import numpy as np
import pytest

from appliance.drafting.vocabulary import speech_vocabulary
from appliance.records.pcm_stream import as_wav
from eval.asr import Heard
from eval.cases import load_cases
from eval.hearing import Hearing
from eval.streamed import (
    Streamed,
    Streaming,
    comparison_table,
    hear_streamed,
    pcm_of,
)
from speech_io.audio import AudioError
from speech_io.protocol import SpeechErrorCode
from speech_io.stretches import join_texts, plan_stretches
from tests.pcm import speechlike

CASES = {c.id: c for c in load_cases()}
# About a minute of dictation with a pause every few seconds: several stretches' worth.
RECORDING = as_wav(speechlike(62.0, {float(at): 0.6 for at in range(4, 60, 5)}))


class _Ear:
    """A transcriber that keeps the PCM of every WAV it is sent and answers each with `answers`
    in turn (an exception is raised instead of answered)."""

    def __init__(self, answers: list[str | Exception] | None = None) -> None:
        self.heard: list[bytes] = []
        self.vocabularies: list[str | None] = []
        self.answers = answers

    def transcribe(self, audio: bytes, audio_format: str, vocabulary: str | None = None) -> str:
        assert audio_format == "wav"
        with wave.open(io.BytesIO(audio)) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16_000)
            self.heard.append(w.readframes(w.getnframes()))
        self.vocabularies.append(vocabulary)
        if self.answers is None:
            return f"stretch {len(self.heard)}."
        answer = self.answers[len(self.heard) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_it_hears_every_byte_once_in_order_in_the_stretches_the_worker_would_cut() -> None:
    ear = _Ear()
    result = hear_streamed(ear, RECORDING, "cbt")
    pcm = pcm_of(RECORDING)
    assert result.stretches == tuple(plan_stretches(pcm, 3.0))
    assert len(result.stretches) >= 3
    assert b"".join(ear.heard) == pcm
    assert [len(h) for h in ear.heard] == [end - start for start, end in result.stretches]
    assert all(a[1] == b[0] for a, b in pairwise(result.stretches))
    assert result.heard.audio_seconds == pytest.approx(62.0, abs=0.01)


def test_it_joins_the_stretches_texts_with_join_texts() -> None:
    plan = plan_stretches(pcm_of(RECORDING), 3.0)
    answers: list[str | Exception] = [f"  part {i}, " for i in range(len(plan))]
    answers[1] = "   "  # a stretch in which nothing was heard adds no space
    result = hear_streamed(_Ear(answers), RECORDING, "cbt")
    assert result.heard.text == join_texts([str(a) for a in answers])
    assert result.heard.text.startswith("part 0, part 2,")


def test_every_stretch_gets_the_modality_vocabulary_and_its_casing() -> None:
    plan = plan_stretches(pcm_of(RECORDING), 3.0)
    ear = _Ear(["emdr and the sud were named."] * len(plan))
    result = hear_streamed(ear, RECORDING, "emdr")
    assert ear.vocabularies == [speech_vocabulary("emdr")] * len(plan)
    assert result.heard.text.startswith("EMDR and the SUD")


def test_a_silent_stretch_counts_as_nothing_heard_as_the_worker_stores_it() -> None:
    plan = plan_stretches(pcm_of(RECORDING), 3.0)
    answers: list[str | Exception] = ["said."] * len(plan)
    answers[-1] = AudioError(SpeechErrorCode.SILENT, "silent")
    result = hear_streamed(_Ear(answers), RECORDING, "cbt")
    assert result.nothing_heard == 1
    assert result.heard.text == " ".join(["said."] * (len(plan) - 1))


def test_a_damaged_stretch_is_an_error_not_silence() -> None:
    with pytest.raises(AudioError):
        hear_streamed(_Ear([AudioError(SpeechErrorCode.CORRUPT, "corrupt")]), RECORDING, "cbt")


def test_the_pcm_is_the_recordings_samples_as_the_browser_rounds_them() -> None:
    original = np.frombuffer(speechlike(10.0, {5.0: 0.5}), dtype="<i2")
    again = np.frombuffer(pcm_of(as_wav(original.tobytes())), dtype="<i2")
    assert len(again) == len(original)
    # Negative samples come back exactly; positive ones lose at most the step 32767/32768 costs.
    assert np.array_equal(again[original < 0], original[original < 0])
    assert np.abs(again.astype(int) - original).max() <= 1


def _streaming(case_id: str, whole: str, streamed: str) -> Streaming:
    hearing = Hearing("piper", "Piper (neural)", {case_id: Heard(whole, 40.0, 4.0)})
    heard = Streamed(Heard(streamed, 40.0, 5.0), ((0, 640_000), (640_000, 1_280_000)), 0)
    return Streaming(hearing, {case_id: heard})


def _verdict(markdown: str) -> str:
    return markdown.splitlines()[2].split("|")[-2].strip()


def test_the_table_passes_streaming_as_good_as_whole_and_fails_it_beyond_the_tolerance() -> None:
    case = CASES["emdr-01"]
    same, failures = comparison_table([case], [_streaming(case.id, case.script, case.script)], None)
    assert _verdict(same) == "+0.000 PASS" and failures == []
    assert "2 (2.0 each)" in same
    # A stretch's last words lost at a boundary: several words of the script missing.
    cut = " ".join(case.script.split()[:-6])
    worse, failures = comparison_table([case], [_streaming(case.id, case.script, cut)], None)
    assert _verdict(worse).endswith("FAIL")
    assert len(failures) == 1 and "Piper" in failures[0]
