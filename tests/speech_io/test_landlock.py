from __future__ import annotations

import ctypes
import errno

import pytest

from speech_io import landlock


class _RefusingLibc:
    """libc under systemd's SystemCallFilter= without the Landlock calls: EPERM."""

    def syscall(self, *_args: object) -> int:
        ctypes.set_errno(errno.EPERM)
        return -1


def test_a_kernel_or_filter_that_refuses_landlock_leaves_the_process_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(landlock, "_libc", _RefusingLibc())
    assert landlock.landlock_abi() == 0
    assert landlock.forbid_files_and_network() is False


@pytest.mark.parametrize(("abi", "rights"), [(1, 13), (2, 14), (3, 15), (4, 15), (7, 16)])
def test_every_filesystem_right_the_kernel_knows_is_handled(abi: int, rights: int) -> None:
    assert landlock._filesystem_rights(abi) == (1 << rights) - 1
