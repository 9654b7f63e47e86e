"""Harder copies of the Piper audio, made with sox at eval time (issue 14, realistic test voices).

- tempo 0.9 and 1.1: the speaker slower and faster. sox `tempo -s` (WSOLA, tuned for speech)
  rather than `speed`: `speed` resamples like a tape played fast, so the pitch moves with the
  rate, and a person who talks faster does not talk higher.
- room noise at 20 dB SNR: pink (1/f) noise, a steady broadband room tone that falls off with
  frequency as ventilation and traffic noise do, from sox's generator in repeatable mode (-R),
  scaled so that the RMS of the speech over the RMS of the noise, both over the whole file, is
  exactly 20 dB.
- telephone 8 kHz: as a phone line carries it: band-limited to 300-3400 Hz, sampled at 8 kHz as
  8-bit mu-law (G.711), and resampled to 16 kHz at the far end.

Every file is cached under build/eval-audio/ and named for its source, the variant and a key
hashed from the source file's bytes and the recipe (the sox command lines), so an unchanged
source and recipe cost nothing the next time, and a changed one is made again. sox runs with
-R everywhere, so a variant is the same bytes each time it is made on one machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from speech_io.audio import SAMPLE_RATE, decode

CACHE_DIR = Path(__file__).resolve().parents[1] / "build" / "eval-audio"
# Part of every key: raise it when the code around the recipes changes what they make.
RECIPE_VERSION = 1

Signal = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SoxStage:
    """One sox run: the output file's format options, then the effects."""

    output: tuple[str, ...]
    effects: tuple[str, ...]


@dataclass(frozen=True)
class Variant:
    name: str
    title: str
    stages: tuple[SoxStage, ...] = ()
    # Room noise mixed in at this SNR (dB) after the stages; None for none.
    snr_db: float | None = None

    @property
    def recipe(self) -> str:
        return json.dumps({"version": RECIPE_VERSION, **asdict(self)}, sort_keys=True)


def _tempo(factor: float) -> Variant:
    return Variant(
        name=f"tempo-{factor}",
        title=f"Piper, speaking rate {factor} (sox tempo)",
        stages=(SoxStage((), ("tempo", "-s", str(factor))),),
    )


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        _tempo(0.9),
        _tempo(1.1),
        Variant("noise-20db", "Piper, room noise (pink) at 20 dB SNR", snr_db=20.0),
        Variant(
            "phone-8k",
            "Piper, telephone (300-3400 Hz, 8 kHz mu-law)",
            stages=(
                SoxStage(
                    ("-r", "8000", "-e", "mu-law", "-b", "8"), ("sinc", "300-3400", "rate", "8000")
                ),
                SoxStage(
                    ("-r", str(SAMPLE_RATE), "-e", "signed-integer", "-b", "16"),
                    ("rate", str(SAMPLE_RATE)),
                ),
            ),
        ),
    )
}


def read_wav(path: Path) -> tuple[Signal, int]:
    """A 16-bit mono WAV as samples in [-1, 1] and its rate."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise ValueError(f"{path.name}: not 16-bit mono")
        frames = wav.readframes(wav.getnframes())
        rate = wav.getframerate()
    return np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768, rate


def write_wav(path: Path, samples: npt.ArrayLike, rate: int = SAMPLE_RATE) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def rms(samples: Signal) -> float:
    return float(np.sqrt(np.mean(np.square(samples))))


def _sox(sox: str, *args: str | Path) -> None:
    # -R: sox's "repeatable" mode: its random generators (noise, dither) start from a fixed seed.
    subprocess.run([sox, "-R", *map(str, args)], check=True, capture_output=True)  # noqa: S603


def add_noise(sox: str, source: Path, out: Path, snr_db: float, work: Path) -> None:
    """`source` with pink noise whose RMS is `snr_db` below the source's RMS."""
    signal, rate = read_wav(source)
    noise_path = work / "noise.wav"
    # The rate goes before -n: it is the null input's, so "Ns" counts samples at that rate.
    synth = ("synth", f"{len(signal)}s", "pinknoise")
    _sox(sox, "-r", str(rate), "-c", "1", "-n", "-b", "16", noise_path, *synth)
    noise, _ = read_wav(noise_path)
    if len(noise) != len(signal):
        raise RuntimeError(f"sox made {len(noise)} samples of noise for {len(signal)}")
    gain = rms(signal) / rms(noise) / 10 ** (snr_db / 20)
    # -v on every input turns off sox's 1/n scaling of mixed inputs: the speech stays as it was.
    _sox(sox, "-m", "-v", "1", source, "-v", f"{gain:.8f}", noise_path, "-b", "16", out)


def make(variant: Variant, source: Path, out: Path, sox: str = "sox") -> None:
    """`source` (16-bit mono WAV) made into `variant` at `out` (16-bit mono WAV, 16 kHz)."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        current = source
        for index, stage in enumerate(variant.stages):
            following = work / f"stage{index}.wav"
            _sox(sox, current, *stage.output, following, *stage.effects)
            current = following
        if variant.snr_db is not None:
            noisy = work / "noisy.wav"
            add_noise(sox, current, noisy, variant.snr_db, work)
            current = noisy
        if current == source:
            raise ValueError(f"variant {variant.name} has no stage and no noise")
        os.replace(current, out)


def cache_key(source_bytes: bytes, recipe: str) -> str:
    return hashlib.sha256(source_bytes + b"\0" + recipe.encode()).hexdigest()[:16]


def variant_audio(
    source: Path, variant: Variant, cache: Path = CACHE_DIR, sox: str = "sox"
) -> tuple[Path, bool]:
    """The variant of `source` (any audio speech_io decodes), from the cache or made now.

    Returns the WAV and whether it was made now. It is written under a temporary name and
    renamed, so an interrupted run leaves no half file under the final name.
    """
    data = source.read_bytes()
    stem = source.name.split(".")[0]
    out = cache / f"{stem}.{variant.name}.{cache_key(data, variant.recipe)}.wav"
    if out.is_file():
        return out, False
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as folder:
        pcm = Path(folder) / "source.wav"
        write_wav(pcm, decode(data, max_seconds=30 * 60, claimed_audio=True).samples)
        made = Path(folder) / "made.wav"
        make(variant, pcm, made, sox)
        os.replace(made, out)
    return out, True


def selected(names: Sequence[str]) -> list[Variant]:
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant(s): {', '.join(unknown)} (known: {', '.join(VARIANTS)})")
    return [VARIANTS[n] for n in names]
