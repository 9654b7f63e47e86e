"""One 20-minute dictation, spoken by Piper at eval time (issue 14): Whisper over a long recording.

Twenty minutes is more than any one case: the scripts of the set are read one after another, in
cases.json order and round again, until their Piper durations (voices.json) reach 20 minutes,
and the whole text is synthesised as one dictation. Nothing about it is committed: the audio is
cached under build/eval-audio/, keyed on the text, the voice settings and the library versions.

It is scored on the transcript only (WER, facts, time). Its facts are the union of the joined
cases' facts, counted per occurrence: a fact the script says n times must be heard n times, so a
passage lost in the second round counts even where the first round was heard.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from eval.cases import Case
from eval.text import words
from eval.variants import CACHE_DIR
from eval.voices import PIPER, PiperSettings, speak, spoken_text, versions
from speech_io.audio import SAMPLE_RATE
from speech_io.normalise import normalise

NAME = "long-20min"
TARGET_SECONDS = 20 * 60
# The hint the appliance would send: the joined cases span every modality, and the general
# (integrative) list is the one a clinician dictating such a session would have chosen.
MODALITY = "integrative"


@dataclass(frozen=True)
class LongDictation:
    pieces: tuple[str, ...]  # case ids, in the order spoken
    script: str
    facts: tuple[str, ...]  # the union of the pieces' facts


def build(
    cases: Sequence[Case], seconds: Mapping[str, float], target: float = TARGET_SECONDS
) -> LongDictation:
    """The cases' scripts joined, round after round, until their `seconds` reach `target`."""
    if not cases:
        raise ValueError("no cases to build a long dictation from")
    pieces: list[Case] = []
    total = 0.0
    while total < target:
        case = cases[len(pieces) % len(cases)]
        pieces.append(case)
        total += seconds[case.id]
    facts = dict.fromkeys(fact for case in pieces for fact in case.facts)
    return LongDictation(
        pieces=tuple(case.id for case in pieces),
        script="\n\n".join(case.script.strip() for case in pieces) + "\n",
        facts=tuple(facts),
    )


def _occurrences(haystack: Sequence[str], phrase: str) -> int:
    needle = normalise(phrase)
    width = len(needle)
    return sum(list(haystack[i : i + width]) == needle for i in range(len(haystack) - width + 1))


def facts_heard(dictation: LongDictation, transcript: str) -> tuple[int, int]:
    """(found, said): each fact's occurrences in the script, and as many of them as were heard."""
    said_words, heard_words = words(dictation.script), words(transcript)
    said = found = 0
    for fact in dictation.facts:
        times = _occurrences(said_words, fact)
        said += times
        found += min(times, _occurrences(heard_words, fact))
    return found, said


def cache_key(dictation: LongDictation, settings: PiperSettings = PIPER) -> str:
    about = json.dumps(
        {"script": dictation.script, "settings": asdict(settings), "versions": versions()},
        sort_keys=True,
    )
    return hashlib.sha256(about.encode()).hexdigest()[:16]


def long_audio(
    dictation: LongDictation, cache: Path = CACHE_DIR, sox: str = "sox"
) -> tuple[Path, bool]:
    """The dictation spoken by Piper as 16 kHz mono WAV, from the cache or made now (and
    whether it was made now)."""
    out = cache / f"{NAME}.{cache_key(dictation)}.wav"
    if out.is_file():
        return out, False
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as folder:
        spoken = Path(folder) / "piper.wav"
        speak(spoken_text(dictation.script), spoken)
        made = Path(folder) / "made.wav"
        # sox's `rate` (its default very-high-quality resampler) takes Piper's 22.05 kHz to what
        # Whisper consumes, as ffmpeg does for the committed files.
        subprocess.run(  # noqa: S603 - sox with fixed arguments
            [sox, "-R", str(spoken), "-r", str(SAMPLE_RATE), str(made), "rate", str(SAMPLE_RATE)],
            check=True,
            capture_output=True,
        )
        os.replace(made, out)
    return out, True
