"""Each dictation heard as the appliance hears a streamed recording (issue 13, "same result").

A recording streamed from the browser is transcribed a stretch at a time while it is spoken
(speech_io.protocol), then the tail at Stop (appliance.jobs.dictation_stages). Here
the same audio goes the same way, with nothing reimplemented: the case's audio as the browser's
16 kHz s16le PCM, cut where speech_io.stretches.plan_stretches says a worker keeping up with
3-second chunks would cut it, each stretch as WAV (appliance.records.pcm_stream.as_wav) through
appliance.drafting.pipeline.transcribe with the modality's vocabulary, and the texts joined by
speech_io.stretches.join_texts. The report sets it beside the same audio heard whole, scored by
the same WER and facts-in-transcript as every other hearing (eval.hearing).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from appliance.drafting import pipeline
from appliance.records.pcm_stream import BYTES_PER_SECOND, as_wav
from eval import long_dictation
from eval.asr import Heard
from eval.cases import Case
from eval.hearing import Hearing, LongHearing, facts_found
from eval.long_dictation import facts_heard
from eval.report import table, verdict
from eval.voices import Recording
from model_server.wer import word_error_rate
from speech_io.audio import AudioError, decode
from speech_io.protocol import NOTHING_HEARD
from speech_io.stretches import join_texts, plan_stretches

# webui/static/recorder.js sends a chunk every 3 s of audio (CHUNK_SAMPLES).
CHUNK_SECONDS = 3.0
# Issue 13: a streamed recording's mean WER at most this much above the same audio heard whole.
WER_TOLERANCE = 0.01
MAX_SECONDS = 30 * 60  # as eval.asr: the longest recording the eval hears


@dataclass(frozen=True)
class Streamed:
    """One recording heard in stretches: the joined transcript (its wall time is the stretches'
    transcription alone) and the byte ranges heard."""

    heard: Heard
    stretches: tuple[tuple[int, int], ...]
    nothing_heard: int  # stretches the speech step found silent, joined as no text


def pcm_of(audio: bytes) -> bytes:
    """Any recording the eval holds as the PCM the browser streams. Rounded as
    webui/static/pcm-capture.js rounds (negative samples scaled by 32768, positive by 32767,
    truncated), so the stretches hold the very samples a browser would send."""
    samples = np.clip(decode(audio, max_seconds=MAX_SECONDS, claimed_audio=True).samples, -1, 1)
    scaled = np.where(samples < 0, samples * 32768.0, samples * 32767.0)
    return scaled.astype("<i2").tobytes()


def _stretch_text(transcriber: pipeline.Transcriber, pcm: bytes, modality: str) -> str | None:
    """One stretch as the stretch worker hears it; None where there was nothing to hear."""
    try:
        return pipeline.transcribe(transcriber, as_wav(pcm), "wav", modality)
    except AudioError as exc:
        # In process, the speech service's refusal of a silent stretch is the decoder's
        # AudioError; the worker stores such a stretch as no text (NOTHING_HEARD), as here.
        if exc.problem not in NOTHING_HEARD:
            raise
        return None


def hear_streamed(
    transcriber: pipeline.Transcriber,
    audio: bytes,
    modality: str,
    chunk_seconds: float = CHUNK_SECONDS,
) -> Streamed:
    """`audio` streamed in `chunk_seconds` chunks and heard in the stretches cut meanwhile."""
    pcm = pcm_of(audio)
    stretches = plan_stretches(pcm, chunk_seconds)
    texts: list[str] = []
    nothing = 0
    started = time.perf_counter()
    for start, end in stretches:
        text = _stretch_text(transcriber, pcm[start:end], modality)
        nothing += text is None
        texts.append(text or "")
    wall = time.perf_counter() - started
    heard = Heard(join_texts(texts), len(pcm) / BYTES_PER_SECOND, wall)
    return Streamed(heard, tuple(stretches), nothing)


def hear_file(transcriber: pipeline.Transcriber, path: Path, modality: str) -> Streamed:
    return hear_streamed(transcriber, path.read_bytes(), modality)


@dataclass
class Streaming:
    """One voice heard both ways: `whole` is its ordinary hearing, `streamed` per case id."""

    whole: Hearing
    streamed: dict[str, Streamed] = field(default_factory=dict)

    @property
    def wall_seconds(self) -> float:
        return sum(s.heard.wall_seconds for s in self.streamed.values())


@dataclass(frozen=True)
class LongStreaming:
    whole: LongHearing
    streamed: Streamed


def stream_voices(
    transcriber: pipeline.Transcriber,
    cases: Sequence[Case],
    hearings: Sequence[Hearing],
    audio_of: Mapping[str, Mapping[str, Path]],
) -> list[Streaming]:
    """Each voice hearing of `hearings` (the clean recordings; `audio_of`: voice -> case id ->
    its file) heard again in stretches; variants are not."""
    streamings = []
    for hearing in hearings:
        if hearing.name not in audio_of:
            continue
        streaming = Streaming(hearing)
        for case in cases:
            path = audio_of[hearing.name][case.id]
            streaming.streamed[case.id] = hear_file(transcriber, path, case.modality)
        streamings.append(streaming)
    return streamings


def voice_files(
    cases: Sequence[Case], piper: Mapping[str, Recording]
) -> dict[str, dict[str, Path]]:
    """Voice -> case id -> the committed recording (eval.hearing.hear_all hears the same)."""
    files = {"espeak": {case.id: case.audio_path for case in cases}}
    if piper:
        files["piper"] = {case.id: piper[case.id].path for case in cases}
    return files


def stream_all(
    transcriber: pipeline.Transcriber,
    cases: Sequence[Case],
    hearings: Sequence[Hearing],
    piper: Mapping[str, Recording],
    long: LongHearing | None,
    sox: str = "sox",
) -> tuple[list[Streaming], LongStreaming | None]:
    """The voices heard in `hearings`, and the long dictation if it was heard, in stretches."""
    streamings = stream_voices(transcriber, cases, hearings, voice_files(cases, piper))
    if long is None:
        return streamings, None
    # From the cache hear_all just filled: the very file it heard whole.
    path, _ = long_dictation.long_audio(long.dictation, sox=sox)
    return streamings, LongStreaming(long, hear_file(transcriber, path, long_dictation.MODALITY))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _facts(found: int, total: int) -> str:
    return f"{found}/{total} ({found / total if total else 0.0:.3f})"


def _judged(wer_whole: float, wer_streamed: float) -> tuple[str, bool]:
    difference = wer_streamed - wer_whole
    return f"{difference:+.3f}", difference <= WER_TOLERANCE


def comparison_table(
    cases: Sequence[Case], streamings: Sequence[Streaming], long: LongStreaming | None
) -> tuple[str, list[str]]:
    """Per voice (and the long dictation): WER and facts in the transcript, whole against
    streamed, the stretches, the times, and the verdict; with the failures, named."""
    rows: list[list[object]] = []
    failures: list[str] = []

    def judge(title: str, wer_whole: float, wer_streamed: float) -> str:
        shown, ok = _judged(wer_whole, wer_streamed)
        if not ok:
            failures.append(
                f"streamed WER {wer_streamed:.3f} against {wer_whole:.3f} whole, {title} "
                f"(at most +{WER_TOLERANCE})"
            )
        return f"{shown} {verdict(ok)}"

    for s in streamings:
        whole = s.whole.heard
        wer_whole = _mean([word_error_rate(c.script, whole[c.id].text) for c in cases])
        wer_streamed = _mean(
            [word_error_rate(c.script, s.streamed[c.id].heard.text) for c in cases]
        )
        total = sum(len(c.facts) for c in cases)
        stretches = sum(len(s.streamed[c.id].stretches) for c in cases)
        title = s.whole.title
        rows.append(
            [
                title,
                len(cases),
                f"{stretches} ({stretches / len(cases):.1f} each)",
                f"{wer_whole:.3f}",
                f"{wer_streamed:.3f}",
                _facts(sum(facts_found(c, whole[c.id].text) for c in cases), total),
                _facts(sum(facts_found(c, s.streamed[c.id].heard.text) for c in cases), total),
                f"{s.whole.wall_seconds:.1f}",
                f"{s.wall_seconds:.1f}",
                judge(title, wer_whole, wer_streamed),
            ]
        )
    if long is not None:
        dictation = long.whole.dictation
        whole_text, streamed = long.whole.heard.text, long.streamed
        wer_whole = word_error_rate(dictation.script, whole_text)
        wer_streamed = word_error_rate(dictation.script, streamed.heard.text)
        title = f"Piper, one {streamed.heard.audio_seconds / 60:.1f}-minute dictation"
        rows.append(
            [
                title,
                1,
                len(streamed.stretches),
                f"{wer_whole:.3f}",
                f"{wer_streamed:.3f}",
                _facts(*facts_heard(dictation, whole_text)),
                _facts(*facts_heard(dictation, streamed.heard.text)),
                f"{long.whole.heard.wall_seconds:.1f}",
                f"{streamed.heard.wall_seconds:.1f}",
                judge(title, wer_whole, wer_streamed),
            ]
        )
    headers = [
        "audio",
        "dictations",
        "stretches",
        "WER whole",
        "WER streamed",
        "facts in transcript, whole",
        "facts in transcript, streamed",
        "transcribe s, whole",
        "transcribe s, streamed",
        f"WER streamed - whole (<= +{WER_TOLERANCE})",
    ]
    return table(headers, rows), failures


def per_case_table(cases: Sequence[Case], streamings: Sequence[Streaming]) -> str:
    """WER per case, whole and streamed per voice, with its stretches and the silent ones."""
    rows: list[list[object]] = []
    for case in cases:
        row: list[object] = [case.id]
        for s in streamings:
            streamed = s.streamed[case.id]
            silent = f", {streamed.nothing_heard} silent" if streamed.nothing_heard else ""
            row += [
                f"{len(streamed.stretches)}{silent}",
                word_error_rate(case.script, s.whole.heard[case.id].text),
                word_error_rate(case.script, streamed.heard.text),
            ]
        rows.append(row)
    headers = ["case"]
    for s in streamings:
        headers += [
            f"{s.whole.name} stretches",
            f"{s.whole.name} whole",
            f"{s.whole.name} streamed",
        ]
    return table(headers, rows)


def report(
    cases: Sequence[Case], streamings: Sequence[Streaming], long: LongStreaming | None
) -> tuple[str, list[str]]:
    """The report's section: the comparison, what it means, and WER per case; and the
    failures of the target."""
    comparison, failures = comparison_table(cases, streamings, long)
    parts = [
        "## Streamed against whole (issue 13)\n",
        comparison + "\n",
        "Streamed: the same recording as the browser streams it (16 kHz s16le PCM in "
        f"{CHUNK_SECONDS:g}-second chunks), cut where a stretch worker keeping up would cut it "
        "(speech_io.stretches.plan_stretches), each stretch heard as the worker hears it and the "
        "texts joined (join_texts). WER and facts in the transcript as above; transcribe s, "
        "streamed: the stretches' transcription, all of it (the appliance does most of it while "
        "the clinician is still talking). Target: streamed WER at most "
        f"{WER_TOLERANCE} above whole.\n",
    ]
    if streamings:
        parts += [
            "### WER per case, whole and streamed\n",
            per_case_table(cases, streamings) + "\n",
        ]
    return "\n".join(parts), failures
