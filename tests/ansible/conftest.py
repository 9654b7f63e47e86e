"""Fixtures the Ansible tests share: loop devices standing in for a host's data disks."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ansible.disks import DEVICE_SIZE, LoopDevice
from tests.tools import require_root, require_tool


@pytest.fixture(scope="module")
def loop_device(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopDevice]:
    require_root("loop devices need root")
    losetup = require_tool("losetup", "a loop device backed by a file stands in for a disk")
    attached: list[Path] = []
    folder = tmp_path_factory.mktemp("loop-files")

    def make(*, ext4: bool = False) -> Path:
        backing = folder / f"disk-{len(attached)}.img"
        with backing.open("wb") as file:
            file.truncate(DEVICE_SIZE)
        if ext4:
            mkfs = require_tool("mkfs.ext4", "a test disk holds an ext4 filesystem")
            subprocess.run([mkfs, "-q", str(backing)], check=True)
        done = subprocess.run(
            [losetup, "--find", "--show", str(backing)], capture_output=True, text=True, check=True
        )
        device = Path(done.stdout.strip())
        attached.append(device)
        return device

    try:
        yield make
    finally:
        for device in attached:
            subprocess.run([losetup, "--detach", str(device)], check=False)
