"""Whisper over each audio set of the eval (a voice, or a variant of one), and its tables.

A hearing is one set's transcripts with what it cost. The tables compare the sets on the same
scripts: WER (after speech_io.normalise, mean over the dictations) and the facts that reached
the transcript, which bounds what any drafting can keep.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eval import long_dictation
from eval.asr import Heard, Transcriber
from eval.cases import Case
from eval.long_dictation import LongDictation, facts_heard
from eval.report import table
from eval.text import contains, words
from eval.variants import Variant, variant_audio
from eval.voices import Recording
from model_server.wer import word_error_rate


@dataclass
class Hearing:
    """One audio set heard by Whisper."""

    name: str
    title: str
    heard: dict[str, Heard] = field(default_factory=dict)  # case id -> transcript
    # Making the audio now (sox, Piper); 0 for committed audio or audio from the cache.
    prepare_seconds: float = 0.0
    made: int = 0  # files made now rather than taken from the cache

    @property
    def audio_seconds(self) -> float:
        return sum(h.audio_seconds for h in self.heard.values())

    @property
    def wall_seconds(self) -> float:
        return sum(h.wall_seconds for h in self.heard.values())


def hear(
    transcriber: Transcriber,
    cases: Sequence[Case],
    hearing: Hearing,
    audio_of: Callable[[Case], tuple[Path, float, bool]],
) -> Hearing:
    """Each case's audio (`audio_of`: path, seconds spent making it, made now?) transcribed."""
    for case in cases:
        path, seconds, made = audio_of(case)
        hearing.prepare_seconds += seconds
        hearing.made += made
        hearing.heard[case.id] = transcriber.hear(path, case.modality)
    return hearing


def facts_found(case: Case, text: str) -> int:
    transcript_words = words(text)
    return sum(contains(transcript_words, fact) for fact in case.facts)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def asr_table(cases: Sequence[Case], heard: Mapping[str, Heard]) -> tuple[str, float, float]:
    """Per case: audio, time, WER and the facts in the transcript; with the mean WER and the
    share of facts heard."""
    rows: list[list[object]] = []
    rates, found, total = [], 0, 0
    for case in cases:
        h = heard[case.id]
        rate = word_error_rate(case.script, h.text)
        hits = facts_found(case, h.text)
        rates.append(rate)
        found, total = found + hits, total + len(case.facts)
        rows.append(
            [
                case.id,
                f"{h.audio_seconds:.1f}",
                f"{h.wall_seconds:.2f}",
                f"{h.wall_seconds / h.audio_seconds:.3f}",
                rate,
                f"{hits}/{len(case.facts)}",
            ]
        )
    audio = sum(heard[c.id].audio_seconds for c in cases)
    wall = sum(heard[c.id].wall_seconds for c in cases)
    mean_wer = sum(rates) / len(rates)
    rows.append(
        [
            "**total**",
            f"{audio:.1f}",
            f"{wall:.2f}",
            f"{wall / audio:.3f}",
            f"{mean_wer:.3f} (mean)",
            f"{found}/{total} ({_ratio(found, total):.3f})",
        ]
    )
    headers = ["case", "audio s", "transcribe s", "RTF", "WER", "facts in transcript"]
    return table(headers, rows), mean_wer, _ratio(found, total)


@dataclass(frozen=True)
class LongHearing:
    dictation: LongDictation
    heard: Heard
    prepare_seconds: float
    made: bool


def summary_table(
    cases: Sequence[Case], hearings: Sequence[Hearing], long: LongHearing | None
) -> str:
    """One row per audio set: WER and facts in the transcript, audio and time."""
    rows: list[list[object]] = []
    for hearing in hearings:
        heard = hearing.heard
        rates = [word_error_rate(c.script, heard[c.id].text) for c in cases]
        found = sum(facts_found(c, heard[c.id].text) for c in cases)
        total = sum(len(c.facts) for c in cases)
        rows.append(
            [
                hearing.title,
                len(cases),
                f"{hearing.audio_seconds:.1f}",
                f"{hearing.wall_seconds:.1f}",
                f"{hearing.wall_seconds / hearing.audio_seconds:.3f}",
                f"{sum(rates) / len(rates):.3f}",
                f"{found}/{total} ({_ratio(found, total):.3f})",
                f"{hearing.prepare_seconds:.1f}"
                + (f" ({hearing.made} made)" if hearing.made else ""),
            ]
        )
    if long is not None:
        found, said = facts_heard(long.dictation, long.heard.text)
        rows.append(
            [
                f"Piper, one {long.heard.audio_seconds / 60:.1f}-minute dictation "
                f"({len(long.dictation.pieces)} scripts)",
                1,
                f"{long.heard.audio_seconds:.1f}",
                f"{long.heard.wall_seconds:.1f}",
                f"{long.heard.wall_seconds / long.heard.audio_seconds:.3f}",
                f"{word_error_rate(long.dictation.script, long.heard.text):.3f}",
                f"{found}/{said} ({_ratio(found, said):.3f})",
                f"{long.prepare_seconds:.1f}" + (" (made)" if long.made else ""),
            ]
        )
    headers = [
        "audio",
        "dictations",
        "audio s",
        "transcribe s",
        "RTF",
        "WER (mean)",
        "facts in transcript",
        "audio made s",
    ]
    return table(headers, rows)


def wer_matrix(cases: Sequence[Case], hearings: Sequence[Hearing]) -> str:
    """WER per case (rows) and audio set (columns)."""
    rows: list[list[object]] = [
        [case.id, *(word_error_rate(case.script, h.heard[case.id].text) for h in hearings)]
        for case in cases
    ]
    return table(["case", *(h.name for h in hearings)], rows)


@dataclass(frozen=True)
class AudioChoice:
    """What the eval hears: voices ("espeak", "piper"), Piper variants, the long dictation."""

    voices: tuple[str, ...]
    variants: tuple[Variant, ...]
    long: bool

    @property
    def needs_piper(self) -> bool:
        return "piper" in self.voices or bool(self.variants) or self.long

    @property
    def needs_sox(self) -> bool:
        return bool(self.variants) or self.long


VOICE_TITLES = {"espeak": "espeak-ng (robotic)", "piper": "Piper (neural)"}


def _timed(make: Callable[[], tuple[Path, bool]]) -> tuple[Path, float, bool]:
    started = time.perf_counter()
    path, made = make()
    return path, time.perf_counter() - started, made


def hear_all(
    transcriber: Transcriber,
    cases: Sequence[Case],
    choice: AudioChoice,
    piper: Mapping[str, Recording],
    sox: str = "sox",
) -> tuple[list[Hearing], LongHearing | None]:
    """Every chosen voice and variant of `cases` transcribed (`piper`: the Piper recordings)."""
    hearings = []
    for voice in choice.voices:

        def voice_of(case: Case, voice: str = voice) -> tuple[Path, float, bool]:
            committed = case.audio_path if voice == "espeak" else piper[case.id].path
            return committed, 0.0, False

        hearings.append(hear(transcriber, cases, Hearing(voice, VOICE_TITLES[voice]), voice_of))
    for variant in choice.variants:

        def variant_of(case: Case, variant: Variant = variant) -> tuple[Path, float, bool]:
            return _timed(lambda: variant_audio(piper[case.id].path, variant, sox=sox))

        hearings.append(hear(transcriber, cases, Hearing(variant.name, variant.title), variant_of))
    if not choice.long:
        return hearings, None
    seconds = {case.id: piper[case.id].duration_seconds for case in cases}
    dictation = long_dictation.build(cases, seconds)
    path, prepared, made = _timed(lambda: long_dictation.long_audio(dictation, sox=sox))
    heard = transcriber.hear(path, long_dictation.MODALITY)
    return hearings, LongHearing(dictation, heard, prepared, made)
