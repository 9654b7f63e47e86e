from __future__ import annotations

import json

import numpy as np
import pytest

from speech_io.audio import AudioError, claims_audio, decode, has_sound
from speech_io.protocol import SpeechErrorCode
from tests.model_server.conftest import AUDIO
from tests.wav import wav_bytes

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
        ("not-audio.png", False, SpeechErrorCode.UNSUPPORTED),
        ("corrupt.ogg", True, SpeechErrorCode.CORRUPT),
        ("corrupt.ogg", False, SpeechErrorCode.UNSUPPORTED),
        ("empty.wav", True, SpeechErrorCode.EMPTY),
    ],
)
def test_bad_files_are_named_for_what_is_wrong(
    name: str, claimed: bool, problem: SpeechErrorCode
) -> None:
    with pytest.raises(AudioError) as raised:
        decode((AUDIO / name).read_bytes(), max_seconds=60, claimed_audio=claimed)
    assert raised.value.problem is problem


def test_zero_bytes_are_empty() -> None:
    with pytest.raises(AudioError) as raised:
        decode(b"", max_seconds=60)
    assert raised.value.problem is SpeechErrorCode.EMPTY


def test_a_long_recording_is_refused_while_decoding() -> None:
    with pytest.raises(AudioError) as raised:
        decode((AUDIO / "hello.wav").read_bytes(), max_seconds=3)
    assert raised.value.problem is SpeechErrorCode.TOO_LONG


def test_a_streamed_recording_without_a_declared_length_is_still_limited() -> None:
    with pytest.raises(AudioError) as raised:
        decode((AUDIO / "hello-streamed.webm").read_bytes(), max_seconds=3)
    assert raised.value.problem is SpeechErrorCode.TOO_LONG


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


def _noise(dbfs: float, seconds: float = 3.0) -> bytes:
    rng = np.random.default_rng(7)
    noise = rng.standard_normal(int(seconds * 16_000))
    return wav_bytes(noise / np.sqrt(np.mean(noise**2)) * 10 ** (dbfs / 20))


@pytest.mark.parametrize(
    "recording",
    [wav_bytes(np.zeros(48_000)), _noise(-70)],
    ids=["digital silence (muted microphone)", "noise floor at -70 dBFS"],
)
def test_a_silent_recording_is_named_silent(recording: bytes) -> None:
    assert has_sound(recording, max_seconds=60) is False
    with pytest.raises(AudioError) as raised:
        decode(recording, max_seconds=60)
    assert raised.value.problem is SpeechErrorCode.SILENT
    assert "microphone" in str(raised.value)


def test_sound_above_the_floor_is_not_silent() -> None:
    assert has_sound(_noise(-30), max_seconds=60) is True
    assert has_sound((AUDIO / "hello.wav").read_bytes(), max_seconds=60) is True
    assert decode(_noise(-30), max_seconds=60).duration == pytest.approx(3.0)


def test_the_sound_check_stops_at_the_first_loud_stretch() -> None:
    # Decoding all of this stream would pass the 3 s limit; the check never gets that far.
    streamed = (AUDIO / "hello-streamed.webm").read_bytes()
    assert has_sound(streamed, max_seconds=3) is True
    with pytest.raises(AudioError):
        decode(streamed, max_seconds=3)


def test_the_sound_check_names_what_is_wrong_with_a_bad_file() -> None:
    with pytest.raises(AudioError) as raised:
        has_sound((AUDIO / "not-audio.png").read_bytes(), max_seconds=60)
    assert raised.value.problem is SpeechErrorCode.UNSUPPORTED


def test_the_sound_check_listens_only_as_long_as_it_is_told() -> None:
    """Ten minutes of silence, then a tone: heard when listening to all of it, not when told to
    listen to the first minute only (so an hour of silence costs a minute of decoding)."""
    silence_then_tone = wav_bytes(np.concatenate((np.zeros(600 * 16_000), np.full(32_000, 0.1))))
    assert has_sound(silence_then_tone, max_seconds=900) is True
    assert has_sound(silence_then_tone, max_seconds=900, listen_seconds=60) is False


def test_ffmpeg_opens_an_upload_with_the_one_demuxer_its_first_bytes_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Never probed by every demuxer FFmpeg has: only the sniffed container's is used, and
    bytes no accepted container starts with never reach FFmpeg at all."""
    import av

    from speech_io import audio

    formats: list[object] = []
    real_open = av.open

    def recording_open(*args: object, **kwargs: object) -> object:
        formats.append(kwargs.get("format"))
        return real_open(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(audio.av, "open", recording_open)
    for name in ("hello.wav", "hello.webm", "hello.m4a", "hello.mp3"):
        assert has_sound((AUDIO / name).read_bytes(), max_seconds=60)
    assert formats == ["wav", "matroska", "mov", "mp3"]
    with pytest.raises(AudioError):
        has_sound(b"\x00\x00\x00\x00 not a recording at all" * 10, max_seconds=60)
    assert len(formats) == 4
