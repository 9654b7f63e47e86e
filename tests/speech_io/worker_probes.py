"""Stand-ins for the sound check's worker, started by speech_io.sound_check.run_isolated exactly as
the worker is (`python -I -B <this file> MODE ...`): what such a process sees, and what happens
when one misbehaves. Not a test module: pytest does not collect it.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import sys
import time


def _readable(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            handle.read()
    except PermissionError:
        return False
    return True


def _connects(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except PermissionError:
        return False


def report() -> None:
    """What the process was given: its environment, directory, descriptors and limits."""
    limits = {
        name: resource.getrlimit(getattr(resource, name))
        for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_CORE")
    }
    open_fds = []
    for fd in range(limits["RLIMIT_NOFILE"][0]):
        try:
            os.fstat(fd)
        except OSError:
            continue
        open_fds.append(fd)
    print(
        json.dumps({"env": dict(os.environ), "cwd": os.getcwd(), "fds": open_fds, "limits": limits})
    )


def sandboxed(key_file: str, port: int) -> None:
    """What the worker can still reach once it has given up files and sockets."""
    from speech_io.landlock import forbid_files_and_network

    before = {"key": _readable(key_file), "tcp": _connects(port)}
    forbid_files_and_network()
    after = {"key": _readable(key_file), "tcp": _connects(port)}
    print(json.dumps({"before": before, "after": after}))


def allocate() -> None:
    """A decoder that wants 2 GiB."""
    hog = bytearray(2 << 30)
    print(json.dumps({"sound": bool(hog), "sandboxed": True}))


def spin() -> None:
    """A decoder caught in a loop."""
    while True:
        pass


def hang() -> None:
    """A decoder waiting for something that never comes."""
    time.sleep(600)


def leave_behind() -> None:
    """A worker that exits, leaving a process of its own holding its pipes open."""
    if os.fork() == 0:
        time.sleep(600)


def unsandboxed() -> None:
    """A worker on a kernel (or under a system call filter) without Landlock."""
    print(json.dumps({"sound": True, "sandboxed": False}))


def chatter() -> None:
    """A worker that answers far more than a JSON object."""
    sys.stdout.buffer.write(b"x" * (16 << 20))


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "report":
        report()
    elif mode == "sandboxed":
        sandboxed(args[0], int(args[1]))
    else:
        modes = {"allocate": allocate, "spin": spin, "hang": hang, "chatter": chatter}
        {**modes, "unsandboxed": unsandboxed, "leave_behind": leave_behind}[mode]()
