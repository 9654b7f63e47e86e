from __future__ import annotations

import json

import pytest

from model_server.audio import AudioError, AudioProblem, claims_audio, decode
from tests.model_server.conftest import AUDIO

FORMATS = {
    "hello.wav": "wav",
    "hello.flac": "flac",
    "hello.mp3": "mp3",
    "hello.m4a": "m4a/mp4",
    "hello.ogg": "ogg/opus",
    "hello.webm": "webm",
    "hello-streamed.webm": "webm",
}


@pytest.mark.parametrize(("name", "expected"), FORMATS.items())
def test_each_format_decodes_to_16khz_mono_of_the_right_length(name: str, expected: str) -> None:
    audio = decode((AUDIO / name).read_bytes(), max_seconds=60)
    assert audio.format == expected
    assert abs(audio.duration - 5.05) < 0.05
    assert audio.samples.dtype.name == "float32" and audio.samples.ndim == 1
    assert 0.05 < float(abs(audio.samples).max()) <= 1.0


def test_the_fixture_list_covers_every_file_the_generator_made() -> None:
    described = json.loads((AUDIO / "formats.json").read_text())["files"]
    decodable = {name for name, info in described.items() if info["expect"] == "decodes"}
    assert decodable == set(FORMATS)


@pytest.mark.parametrize(
    ("name", "claimed", "problem"),
    [
        ("not-audio.png", False, AudioProblem.UNSUPPORTED),
        ("corrupt.ogg", True, AudioProblem.CORRUPT),
        ("corrupt.ogg", False, AudioProblem.UNSUPPORTED),
        ("empty.wav", True, AudioProblem.EMPTY),
    ],
)
def test_bad_files_are_named_for_what_is_wrong(
    name: str, claimed: bool, problem: AudioProblem
) -> None:
    with pytest.raises(AudioError) as raised:
        decode((AUDIO / name).read_bytes(), max_seconds=60, claimed_audio=claimed)
    assert raised.value.problem is problem


def test_zero_bytes_are_empty() -> None:
    with pytest.raises(AudioError) as raised:
        decode(b"", max_seconds=60)
    assert raised.value.problem is AudioProblem.EMPTY


def test_a_long_recording_is_refused_while_decoding() -> None:
    with pytest.raises(AudioError) as raised:
        decode((AUDIO / "hello.wav").read_bytes(), max_seconds=3)
    assert raised.value.problem is AudioProblem.TOO_LONG


def test_a_streamed_recording_without_a_declared_length_is_still_limited() -> None:
    with pytest.raises(AudioError) as raised:
        decode((AUDIO / "hello-streamed.webm").read_bytes(), max_seconds=3)
    assert raised.value.problem is AudioProblem.TOO_LONG


@pytest.mark.parametrize(
    ("filename", "content_type", "claimed"),
    [
        ("a.webm", None, True),
        ("x", "audio/ogg", True),
        ("a.png", "image/png", False),
        (None, None, False),
    ],
)
def test_what_counts_as_claiming_audio(
    filename: str | None, content_type: str | None, claimed: bool
) -> None:
    assert claims_audio(filename, content_type) is claimed
