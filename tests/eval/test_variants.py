"""The eval's audio variants do what their names say, measured on the made audio (sox)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.variants import VARIANTS, SoxStage, Variant, read_wav, rms, variant_audio, write_wav
from speech_io.audio import decode
from tests.tools import require_tool

SOURCE = Path(__file__).resolve().parents[1] / "fixtures" / "eval" / "emdr-01.piper.opus"


@pytest.fixture(scope="module")
def sox() -> str:
    return require_tool("sox", "the eval's audio variants are made with sox")


@pytest.fixture(scope="module")
def source_samples() -> np.ndarray:
    # What the variants start from: the committed Opus decoded and written as 16-bit PCM.
    samples = decode(SOURCE.read_bytes(), max_seconds=120).samples
    return np.round(np.clip(samples, -1, 1) * 32767) / 32768


def _made(variant: Variant, sox: str, cache: Path) -> tuple[np.ndarray, int]:
    path, made = variant_audio(SOURCE, variant, cache, sox)
    assert made
    return read_wav(path)


def test_it_mixes_room_noise_20_db_below_the_speech(
    sox: str, source_samples: np.ndarray, tmp_path: Path
) -> None:
    noisy, rate = _made(VARIANTS["noise-20db"], sox, tmp_path)
    assert rate == 16_000 and len(noisy) == len(source_samples)
    noise = noisy - source_samples
    snr = 20 * np.log10(rms(source_samples) / rms(noise))
    assert snr == pytest.approx(20.0, abs=0.5)


def test_the_room_noise_is_pink_not_white(
    sox: str, source_samples: np.ndarray, tmp_path: Path
) -> None:
    noisy, rate = _made(VARIANTS["noise-20db"], sox, tmp_path)
    power = np.abs(np.fft.rfft(noisy - source_samples)) ** 2
    hz = np.fft.rfftfreq(len(noisy), 1 / rate)
    octave_low = power[(hz >= 250) & (hz < 500)].mean()
    octave_high = power[(hz >= 4000) & (hz < 8000)].mean()
    # Pink noise loses about 3 dB of power density per octave: 4 octaves apart, about 12 dB.
    assert 10 * np.log10(octave_low / octave_high) == pytest.approx(12, abs=3)


def test_the_telephone_variant_keeps_nothing_above_4_khz(
    sox: str, source_samples: np.ndarray, tmp_path: Path
) -> None:
    def share_above(samples: np.ndarray, hz_from: float) -> float:
        power = np.abs(np.fft.rfft(samples)) ** 2
        hz = np.fft.rfftfreq(len(samples), 1 / 16_000)
        return float(power[hz > hz_from].sum() / power.sum())

    phone, rate = _made(VARIANTS["phone-8k"], sox, tmp_path)
    assert rate == 16_000
    assert share_above(source_samples, 4000) > 1e-3  # the voice has energy there to remove
    assert share_above(phone, 4000) < 1e-6


@pytest.mark.parametrize("name", ["tempo-0.9", "tempo-1.1"])
def test_a_tempo_variant_lasts_the_source_over_its_rate(
    name: str, sox: str, source_samples: np.ndarray, tmp_path: Path
) -> None:
    factor = float(name.split("-")[1])
    changed, rate = _made(VARIANTS[name], sox, tmp_path)
    assert rate == 16_000
    assert len(changed) / len(source_samples) == pytest.approx(1 / factor, rel=0.005)


def test_a_variant_comes_from_the_cache_until_its_source_or_recipe_changes(
    sox: str, tmp_path: Path
) -> None:
    variant = VARIANTS["tempo-1.1"]
    first, made = variant_audio(SOURCE, variant, tmp_path, sox)
    assert made
    stamp = first.stat().st_mtime_ns
    assert variant_audio(SOURCE, variant, tmp_path, sox) == (first, False)
    assert first.stat().st_mtime_ns == stamp
    other = Variant(variant.name, variant.title, (SoxStage((), ("tempo", "-s", "1.2")),))
    assert variant_audio(SOURCE, other, tmp_path, sox)[0] != first
    copy = tmp_path / "emdr-01.piper.opus"
    copy.write_bytes(SOURCE.read_bytes() + b"\0")  # one more byte: another source
    assert variant_audio(copy, variant, tmp_path, sox)[0] != first


def test_every_variant_is_the_same_bytes_each_time_it_is_made(sox: str, tmp_path: Path) -> None:
    for variant in VARIANTS.values():
        once, _ = variant_audio(SOURCE, variant, tmp_path / "once", sox)
        again, _ = variant_audio(SOURCE, variant, tmp_path / "again", sox)
        assert once.read_bytes() == again.read_bytes(), variant.name


def test_wav_written_and_read_back_keeps_the_samples(tmp_path: Path) -> None:
    samples = np.sin(np.linspace(0, 200, 1600)) * 0.5
    write_wav(tmp_path / "x.wav", samples)
    back, rate = read_wav(tmp_path / "x.wav")
    assert rate == 16_000 and np.max(np.abs(back - samples)) < 1e-4
