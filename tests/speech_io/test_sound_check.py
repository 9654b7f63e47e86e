"""The upload's sound check in its own process: the same answers as in the appliance's process,
none of the appliance's keys or settings, and a refusal, never a hang or a crash, when it
misbehaves."""

from __future__ import annotations

import io
import json
import os
import socket
import time
from pathlib import Path

import numpy as np
import pytest

from speech_io import sound_check
from speech_io.audio import AudioError, has_sound
from speech_io.landlock import landlock_abi
from speech_io.sound_check import (
    WORKER,
    WORKER_ENV,
    SoundCheckFailed,
    WorkerLimits,
    has_sound_isolated,
    run_isolated,
)
from tests.model_server.conftest import AUDIO, DICTATIONS
from tests.wav import wav_bytes

PROBES = Path(__file__).with_name("worker_probes.py")


def _noise(dbfs: float, seconds: float = 3.0) -> bytes:
    rng = np.random.default_rng(7)
    noise = rng.standard_normal(int(seconds * 16_000))
    return wav_bytes(noise / np.sqrt(np.mean(noise**2)) * 10 ** (dbfs / 20))


def _movie() -> bytes:
    """A phone's video: an mp4 whose first stream is video, with a tone on its audio stream."""
    import av

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        video = container.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=16_000)
        audio.layout = "mono"
        black = np.zeros((48, 64, 3), np.uint8)
        for _ in range(10):
            container.mux(video.encode(av.VideoFrame.from_ndarray(black, format="rgb24")))
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(16_000) / 16_000)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(tone[None, :], format="fltp", layout="mono")
        frame.sample_rate = 16_000
        container.mux(audio.encode(frame))
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
    return out.getvalue()


RECORDINGS = {
    "digital silence": lambda: wav_bytes(np.zeros(48_000)),
    "noise floor at -70 dBFS": lambda: _noise(-70),
    "noise at -30 dBFS": lambda: _noise(-30),
    "a real dictation (ogg/opus)": lambda: (DICTATIONS / "cbt-01.opus").read_bytes(),
    "a video with sound (mp4)": _movie,
    **{name: (lambda name=name: (AUDIO / name).read_bytes()) for name in (
        "hello.wav", "hello.flac", "hello.mp3", "hello.m4a", "hello.ogg", "hello.webm",
        "hello-streamed.webm",
    )},
}  # fmt: skip


@pytest.mark.parametrize("name", RECORDINGS)
def test_it_answers_as_the_check_in_the_appliances_process_did(name: str) -> None:
    recording = RECORDINGS[name]()
    expected = has_sound(recording, max_seconds=60, claimed_audio=True)
    assert has_sound_isolated(recording, max_seconds=60, claimed_audio=True) is expected
    assert expected is ("silence" not in name and "-70" not in name)


@pytest.mark.parametrize(
    ("name", "claimed", "max_seconds"),
    [
        ("not-audio.png", False, 60),
        ("corrupt.ogg", True, 60),
        ("corrupt.ogg", False, 60),
        ("five seconds of silence", True, 1),
    ],
    ids=["unsupported", "corrupt", "corrupt but not claimed", "too long"],
)
def test_it_names_what_is_wrong_with_a_file_as_the_check_in_process_did(
    name: str, claimed: bool, max_seconds: float
) -> None:
    path = AUDIO / name
    data = path.read_bytes() if path.exists() else wav_bytes(np.zeros(5 * 16_000))
    with pytest.raises(AudioError) as in_process:
        has_sound(data, max_seconds=max_seconds, claimed_audio=claimed)
    with pytest.raises(AudioError) as isolated:
        has_sound_isolated(data, max_seconds=max_seconds, claimed_audio=claimed)
    assert isolated.value.problem is in_process.value.problem
    assert str(isolated.value) == str(in_process.value)


def test_it_listens_only_as_long_as_it_is_told() -> None:
    silence_then_tone = wav_bytes(np.concatenate((np.zeros(90 * 16_000), np.full(16_000, 0.1))))
    assert has_sound_isolated(silence_then_tone, max_seconds=900) is True
    assert has_sound_isolated(silence_then_tone, max_seconds=900, listen_seconds=60) is False


def test_the_worker_has_no_appliance_setting_no_inherited_descriptor_and_not_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "keys").mkdir(parents=True)
    key_file = data_dir / "keys" / "kek.key"
    key_file.write_bytes(os.urandom(32))
    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("APPLIANCE_MODEL_API_KEY", "s3cret")
    monkeypatch.setenv("APPLIANCE_DATABASE_URL", "postgresql://app:pw@db/app")
    monkeypatch.chdir(data_dir)
    # A descriptor the appliance holds, marked inheritable: still not passed on.
    held = os.open(key_file, os.O_RDONLY)
    os.set_inheritable(held, True)
    try:
        seen = json.loads(run_isolated([str(PROBES), "report"], b""))
    finally:
        os.close(held)
    assert not [name for name in seen["env"] if name.startswith("APPLIANCE_")]
    # Python adds LC_CTYPE itself when it finds no locale (PEP 538); nothing else is added.
    assert set(seen["env"]) - {"LC_CTYPE"} == set(WORKER_ENV)
    assert "s3cret" not in json.dumps(seen["env"]) and str(data_dir) not in json.dumps(seen)
    assert seen["cwd"] == "/"
    assert seen["fds"] == [0, 1, 2]
    limits = {name: tuple(pair) for name, pair in seen["limits"].items()}
    assert limits["RLIMIT_AS"] == (1 << 30, 1 << 30)
    assert limits["RLIMIT_CPU"] == (30, 31)
    assert limits["RLIMIT_NOFILE"] == (64, 64)
    assert limits["RLIMIT_FSIZE"] == (0, 0) and limits["RLIMIT_CORE"] == (0, 0)


def test_once_sandboxed_the_worker_can_read_no_key_file_and_reach_no_port(
    tmp_path: Path,
) -> None:
    if landlock_abi() < 4:
        pytest.skip(f"this kernel's Landlock (ABI {landlock_abi()}) cannot restrict TCP")
    key_file = tmp_path / "kek.key"
    key_file.write_bytes(os.urandom(32))
    key_file.chmod(0o600)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        seen = json.loads(run_isolated([str(PROBES), "sandboxed", str(key_file), str(port)], b""))
    assert seen["before"] == {"key": True, "tcp": True}  # the same user: only Landlock stops it
    assert seen["after"] == {"key": False, "tcp": False}


def test_the_worker_is_sandboxed_before_it_reads_the_recording() -> None:
    if landlock_abi() < 1:
        pytest.skip("this kernel has no Landlock")
    request = {"size": 0, "max_seconds": 60, "claimed_audio": True, "listen_seconds": None}
    reply = json.loads(run_isolated([*WORKER, json.dumps(request)], b""))
    assert reply["sandboxed"] is True


def test_the_real_worker_is_held_to_its_memory_limit() -> None:
    """32 MiB is less than the interpreter and FFmpeg need: refused, where 1 GiB answers."""
    recording = (AUDIO / "hello.wav").read_bytes()
    with pytest.raises(SoundCheckFailed):
        has_sound_isolated(recording, max_seconds=60, limits=WorkerLimits(memory_bytes=32 << 20))
    assert has_sound_isolated(recording, max_seconds=60) is True


@pytest.mark.parametrize(
    ("mode", "limits", "reason"),
    [
        ("allocate", WorkerLimits(), "exited with status 1"),  # MemoryError past 1 GiB
        ("spin", WorkerLimits(cpu_seconds=1), "CPU time limit"),
        ("hang", WorkerLimits(wall_seconds=1), "ran longer than 1 s"),
        ("chatter", WorkerLimits(), "answer was too long"),
    ],
)
def test_a_worker_that_misbehaves_is_a_refusal_within_its_limits(
    monkeypatch: pytest.MonkeyPatch, mode: str, limits: WorkerLimits, reason: str
) -> None:
    monkeypatch.setattr(sound_check, "WORKER", (str(PROBES), mode))
    started = time.monotonic()
    with pytest.raises(SoundCheckFailed, match=reason):
        has_sound_isolated(b"RIFF" + bytes(64), max_seconds=60, limits=limits)
    assert time.monotonic() - started < 20


def test_a_worker_without_landlock_still_answers_and_the_log_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sound_check, "WORKER", (str(PROBES), "unsandboxed"))
    sound_check._warn_not_sandboxed.cache_clear()
    assert has_sound_isolated(b"RIFF" + bytes(64), max_seconds=60) is True
    assert "Landlock is unavailable" in caplog.text


def test_a_worker_that_cannot_be_started_is_a_refusal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sound_check.sys, "executable", str(tmp_path / "no-python"))
    with pytest.raises(SoundCheckFailed, match="could not be started"):
        has_sound_isolated(b"RIFF" + bytes(64), max_seconds=60)


def test_what_a_worker_leaves_behind_holding_its_pipes_is_killed_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No end of its answer ever comes while the left-behind process holds the pipe: the wait
    ends at the wall-clock limit all the same, and the whole process group goes."""
    marker = f"left-behind-{os.getpid()}-{time.monotonic_ns()}"
    monkeypatch.setattr(sound_check, "WORKER", (str(PROBES), "leave_behind", marker))
    started = time.monotonic()
    with pytest.raises(SoundCheckFailed, match="ran longer than 2 s"):
        has_sound_isolated(b"RIFF" + bytes(64), max_seconds=60, limits=WorkerLimits(wall_seconds=2))
    assert time.monotonic() - started < 10
    # SIGKILL is delivered asynchronously: look again until none is left, for up to 10 s.
    deadline = time.monotonic() + 10
    while True:
        survivors = [
            pid for pid in os.listdir("/proc") if pid.isdigit() and marker.encode() in _cmdline(pid)
        ]
        if not survivors or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert survivors == []


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
