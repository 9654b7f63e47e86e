"""The upload's sound check, run in a short-lived process that holds no key.

FFmpeg's demuxers and decoders parse bytes that anyone with a clinician's login can send. In the
appliance's own process a flaw in one of them would run beside the keys. Here `has_sound` runs
in `python -I -m speech_io.sound_check_worker`, which:
- starts with an environment of its own (none of the APPLIANCE_* settings or secrets), no
  inherited descriptor but its pipes, and `/` as its directory (never the data directory);
- is limited by setrlimit before it runs any code: address space (1 GiB more than the recording),
  CPU time, open files, file size (it writes no file) and core dumps (it leaves no memory image);
- loses every file and TCP socket (speech_io.landlock) before it reads a byte of the recording;
- gets the recording on stdin (never on disk: it is PHI) and answers one small JSON on stdout,
  within a wall-clock limit after which it is killed.
A crash, a limit hit or a timeout raises SoundCheckFailed: nothing is known about the recording.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import resource
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from speech_io.audio import AudioError
from speech_io.protocol import SpeechErrorCode

logger = logging.getLogger("speech_io.sound_check")

WORKER = ("-m", "speech_io.sound_check_worker")
# -I: no PYTHON* variables, no user site, not the current directory on sys.path (the worker is
# imported from the installed package only); -B: it writes no bytecode (it may write no file).
INTERPRETER_FLAGS = ("-I", "-B")
# All the worker's environment. One thread for OpenBLAS and two malloc arenas: each thread
# reserves address space, which counts against the memory limit on a machine with many cores.
WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}
MAX_REPLY = 4096
_PIPE_CHUNK = 65_536


class SoundCheckFailed(Exception):
    """The worker crashed, hit a limit or ran out of time: the recording could not be checked."""


@dataclass(frozen=True)
class WorkerLimits:
    # Address space beyond the recording itself, which the worker holds once. Measured: the
    # interpreter, numpy and FFmpeg need about 200 MiB, and decoding streams in small pieces
    # (a 96 MB recording needed no more than a 100 KB one).
    memory_bytes: int = 1 << 30
    # Real speech is heard within the first second, and the longest check (five minutes of
    # silence, appliance.records.dictations.LISTEN_SECONDS) decodes in about a second: thirty
    # seconds of CPU are only ever spent by a file built to spend them.
    cpu_seconds: int = 30
    # Under nginx's default 60 s wait for an answer, so the person reads the refusal rather
    # than a gateway timeout; room for a worker that shares the cores with a transcription.
    wall_seconds: float = 45.0
    # The interpreter's imports (each file opened and closed in turn) stay far below this.
    open_files: int = 64


LIMITS = WorkerLimits()


def has_sound_isolated(
    data: bytes,
    *,
    max_seconds: float,
    claimed_audio: bool = False,
    listen_seconds: float | None = None,
    limits: WorkerLimits = LIMITS,
) -> bool:
    """speech_io.audio.has_sound, answered by the worker: the same answer or the same
    AudioError, or SoundCheckFailed when the worker gave none."""
    request = {
        "size": len(data),
        "max_seconds": max_seconds,
        "claimed_audio": claimed_audio,
        "listen_seconds": listen_seconds,
    }
    reply = run_isolated([*WORKER, json.dumps(request)], data, limits)
    try:
        answer = json.loads(reply)
        if not answer["sandboxed"]:
            _warn_not_sandboxed()
        if "problem" in answer:
            raise AudioError(SpeechErrorCode(answer["problem"]), str(answer["message"]))
        sound = answer["sound"]
    except (ValueError, KeyError, TypeError) as exc:
        logger.warning("sound check: the worker's answer was not understood")
        raise SoundCheckFailed("the worker's answer was not understood") from exc
    if not isinstance(sound, bool):
        raise SoundCheckFailed("the worker's answer was not understood")
    return sound


@functools.cache
def _warn_not_sandboxed() -> None:
    logger.warning(
        "sound check: Landlock is unavailable (a kernel without it, or a system call filter "
        "that refuses it), so the worker can still open the files this user can; it holds no "
        "key and no setting, and its limits apply as before"
    )


def run_isolated(args: Sequence[str], stdin: bytes, limits: WorkerLimits = LIMITS) -> bytes:
    """`python -I -B *args` as the module docstring says, fed `stdin`; its stdout (at most
    MAX_REPLY bytes) when it exits with 0, SoundCheckFailed otherwise."""
    memory = limits.memory_bytes + len(stdin)
    # (soft, hard): the worker may not raise any past its hard limit. CPU time: SIGXCPU at the
    # soft limit, SIGKILL a second later for a worker that ignores it.
    rlimits = (
        (resource.RLIMIT_AS, (memory, memory)),
        (resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1)),
        (resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files)),
        (resource.RLIMIT_FSIZE, (0, 0)),
        (resource.RLIMIT_CORE, (0, 0)),
    )

    def apply_limits() -> None:
        # Runs in the child between fork and exec, where a lock another thread held at the fork
        # stays held: this imports nothing and takes no lock, it only passes values computed
        # before the fork.
        for which, pair in rlimits:
            resource.setrlimit(which, pair)

    try:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module, no shell)
            [sys.executable, *INTERPRETER_FLAGS, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # Never read: what FFmpeg or a traceback would say is of no use to the person, and
            # a worker that misbehaves could fill the appliance's memory with it.
            stderr=subprocess.DEVNULL,
            env=WORKER_ENV,
            cwd="/",
            close_fds=True,
            # Its own process group, so that whatever it starts is killed with it.
            start_new_session=True,
            preexec_fn=apply_limits,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        # No process to be had (EAGAIN, ENOMEM), or a limit refused (a system call filter).
        _refuse(f"it could not be started ({type(exc).__name__})")
    deadline = time.monotonic() + limits.wall_seconds
    code = None
    try:
        reply, in_time = _exchange(process, stdin, deadline)
        if in_time and len(reply) <= MAX_REPLY:
            code = process.wait(timeout=max(deadline - time.monotonic(), 0))
    except subprocess.TimeoutExpired:
        in_time = False  # it closed its answer but did not exit
    finally:
        _kill_group(process)
    if not in_time:
        _refuse(f"it ran longer than {limits.wall_seconds:g} s")
    if code is None:
        _refuse("its answer was too long")
    if code != 0:
        _refuse(_exit_reason(code))
    return reply


def _exchange(process: subprocess.Popen[bytes], data: bytes, deadline: float) -> tuple[bytes, bool]:
    """Feeds `data` to the worker's stdin while reading its stdout, in one thread and never
    blocking past `deadline`, whatever the worker (or anything it started) does with its
    pipes. (What it answered, at most MAX_REPLY + 1 bytes; whether it finished in time.)"""
    assert process.stdin is not None and process.stdout is not None
    stdin, stdout = process.stdin.fileno(), process.stdout.fileno()
    os.set_blocking(stdin, False)
    reply = bytearray()
    sent = 0
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        if data:
            selector.register(stdin, selectors.EVENT_WRITE)
        else:
            process.stdin.close()
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return bytes(reply), False
            for key, _events in selector.select(remaining):
                if key.fd == stdout:
                    chunk = os.read(stdout, 65_536)
                    reply += chunk
                    if not chunk:
                        selector.unregister(stdout)
                    elif len(reply) > MAX_REPLY:
                        return bytes(reply), True
                    continue
                try:
                    sent += os.write(stdin, data[sent : sent + _PIPE_CHUNK])
                except BlockingIOError:
                    continue
                except BrokenPipeError:
                    sent = len(data)  # it stopped reading: its exit status says why
                if sent >= len(data):
                    selector.unregister(stdin)
                    process.stdin.close()
    return bytes(reply), True


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    # Its process group outlives it only while something it started still runs (the kernel
    # reuses no id that a living process's group still bears): that is all this kills.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            with contextlib.suppress(BrokenPipeError):
                pipe.close()


def _exit_reason(code: int) -> str:
    if code >= 0:
        # 1 is an uncaught exception, MemoryError at the address-space limit among them.
        return f"it exited with status {code}"
    name = signal.Signals(-code).name
    if -code == signal.SIGXCPU:
        return f"it used its CPU time limit ({name})"
    return f"it was killed by {name}"


def _refuse(reason: str) -> NoReturn:
    logger.warning("sound check failed: %s", reason)
    raise SoundCheckFailed(reason)
