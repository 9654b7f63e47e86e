"""Giving up access to every file and TCP socket, for good (Linux Landlock, kernel 5.13 and later).

A process about to parse untrusted bytes calls `forbid_files_and_network()` once it has loaded
what it needs. From then on it opens no file (the key files included, which the service account
could otherwise read), executes nothing, binds or connects no TCP socket (ABI 4 and later) and
signals no process outside itself (ABI 6 and later); already open descriptors keep working, and
nothing it does afterwards can undo it. A kernel without Landlock (too old, or with it left out
of the LSM list) answers False and restricts nothing.
"""

from __future__ import annotations

import ctypes
import os

# The same numbers on every architecture: these system calls came after the tables were unified.
_CREATE_RULESET = 444
_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1 << 0
_PR_SET_NO_NEW_PRIVS = 38

_libc = ctypes.CDLL(None, use_errno=True)


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, or 0 where there is none."""
    version = _libc.syscall(
        ctypes.c_long(_CREATE_RULESET),
        ctypes.c_void_p(None),
        ctypes.c_size_t(0),
        ctypes.c_uint32(_CREATE_RULESET_VERSION),
    )
    return max(int(version), 0)


def _filesystem_rights(abi: int) -> int:
    # ABI 1 knows 13 rights (execute, read, write, make and remove each kind of node); ABI 2 adds
    # REFER, 3 TRUNCATE, 5 IOCTL_DEV. All handled, none granted: no path is reachable.
    known = 13 + (abi >= 2) + (abi >= 3) + (abi >= 5)
    return (1 << known) - 1


def _check(result: int, what: str) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")
    return result


def forbid_files_and_network() -> bool:
    """Restrict this process (and any it starts) for good; False where the kernel cannot (or a
    system call filter, systemd's SystemCallFilter=, refuses to ask it); OSError if a step
    after the first fails."""
    abi = landlock_abi()
    if abi < 1:
        return False
    attr = _RulesetAttr(
        handled_access_fs=_filesystem_rights(abi),
        handled_access_net=0b11 if abi >= 4 else 0,  # bind and connect TCP
        scoped=0b11 if abi >= 6 else 0,  # abstract UNIX sockets and signals
    )
    # An older kernel reads only the fields it knows, so it is given only those.
    size = 8 if abi < 4 else 16 if abi < 6 else ctypes.sizeof(attr)
    ruleset = _check(
        _libc.syscall(
            ctypes.c_long(_CREATE_RULESET),
            ctypes.byref(attr),
            ctypes.c_size_t(size),
            ctypes.c_uint32(0),
        ),
        "landlock_create_ruleset",
    )
    try:
        # Required of an unprivileged process: nothing it executes later may gain privileges.
        _check(
            _libc.prctl(
                ctypes.c_int(_PR_SET_NO_NEW_PRIVS),
                ctypes.c_ulong(1),
                ctypes.c_ulong(0),
                ctypes.c_ulong(0),
                ctypes.c_ulong(0),
            ),
            "prctl(PR_SET_NO_NEW_PRIVS)",
        )
        _check(
            _libc.syscall(ctypes.c_long(_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)),
            "landlock_restrict_self",
        )
    finally:
        os.close(ruleset)
    return True
