"""Loop devices standing in for a host's data disks (the fixture is in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

# Makes a loop device backed by a new file; ext4=True puts a filesystem on it first.
LoopDevice = Callable[..., Path]
# LUKS2 keeps 16 MiB of header and key slots in front of the data.
DEVICE_SIZE = 32 * 1024 * 1024
