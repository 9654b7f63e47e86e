"""This machine as a role's target without changing it: a private mount namespace in which some
folders are covered by overlays whose writable layers live under a test's folder, and /run is a
fresh tmpfs. A role run "for real" inside it writes only there."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Overlay:
    root: Path
    unshare: str
    # The folders covered, e.g. ("/etc", "/var/log").
    overlaid: tuple[str, ...]
    # Shell commands run after the mounts, before the command (e.g. "mkdir /run/sshd").
    then: tuple[str, ...] = ()

    def wrapper(self) -> list[str]:
        """A command prefix: what follows it runs inside the namespace."""
        mounts = []
        for lower in self.overlaid:
            name = lower.strip("/").replace("/", "-")
            upper, work = self.root / "upper" / name, self.root / "work" / name
            upper.mkdir(parents=True, exist_ok=True)
            work.mkdir(parents=True, exist_ok=True)
            mounts.append(
                f"mount -t overlay overlay -o lowerdir={lower},upperdir={upper},workdir={work} "
                f"{lower}"
            )
        mounts += ["mount -t tmpfs tmpfs /run", *self.then]
        script = " && ".join(mounts) + ' && exec "$@"'
        return [self.unshare, "--mount", "--propagation", "private", "sh", "-c", script, "sh"]

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.wrapper(), *command], capture_output=True, text=True, timeout=60, check=check
        )

    def read(self, path: str) -> str:
        return self.run("cat", path).stdout

    def exists(self, path: str) -> bool:
        return self.run("test", "-e", path, check=False).returncode == 0

    def mode(self, path: str) -> tuple[int, str, str]:
        """Permission bits, owner and group, as the namespace sees them."""
        owner = self.run("stat", "--format=%a %U %G", path).stdout.split()
        return int(owner[0], 8), owner[1], owner[2]
