"""A bare Debian 12 tree (scripts/converge-tree.sh) as an Ansible host: site.yml reaches it
through the community.general.chroot connection, inside a private mount namespace that gives
it /proc, /dev and /sys and keeps every mount away from this machine.

No daemon starts in the tree: policy-rc.d refuses package start-ups, there is no systemd as
PID 1 to ask, and every role runs with `<role>_runtime: false`. What a converge proves is the
files, accounts, packages and enabled units a real host would get, checked with the real tools.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.ansible.playbooks import ANSIBLE_DIR, PlaybookRun, run_playbook
from tests.tools import require_tool

REPO = ANSIBLE_DIR.parent
# The tree and the .debs, where scripts/converge-tree.sh keeps them.
CACHE = Path(os.environ.get("APPLIANCE_CI_CACHE", "/var/cache/appliance-ci"))
# Mounted on top of the tree in the namespace: the data volume and the backup disk must be mount
# points, as on a real host (the appliance and backup roles refuse to write into bare folders).
DATA_MOUNTS = ("/var/lib/appliance", "/srv/backup")
# The tree's address, as the inventory gives it (a documentation-free private address: the
# preflight refuses 192.0.2.x).
ADDRESS = "10.20.0.10"


def cached_tree() -> Path:
    done = subprocess.run(
        [str(REPO / "scripts" / "converge-tree.sh")],
        # The same cache as the .debs, whatever the test's environment says by then.
        env={**os.environ, "APPLIANCE_CI_CACHE": str(CACHE)},
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if done.returncode != 0:
        raise AssertionError(f"scripts/converge-tree.sh failed:\n{done.stderr}")
    return Path(done.stdout.strip().splitlines()[-1])


def _namespace_script(root: Path, debs: Path) -> str:
    """Mounts for the chroot, made in the namespace before the command runs."""
    binds = " && ".join(
        f"mkdir -p {root}{path} && mount --bind {root}{path} {root}{path}" for path in DATA_MOUNTS
    )
    return (
        "set -e; "
        # The tree's / a mount point of its own, as a host's is: `unshare --mount` inside the
        # tree (reverse_proxy's nginx -t) changes the propagation of / and fails otherwise.
        f"mount --bind {root} {root}; "
        f"mount -t proc proc {root}/proc; "
        f"mount --rbind /dev {root}/dev; "
        f"mount -t sysfs -o ro sysfs {root}/sys; "
        # The .debs a converge downloads stay for the next one.
        f"mkdir -p {debs}; mount --bind {debs} {root}/var/cache/apt/archives; "
        f"{binds}; "
        'exec "$@"'
    )


@dataclass(frozen=True)
class Box:
    """One copy of the tree, and the inventory that names it."""

    root: Path
    workdir: Path
    # Which converge it is: each keeps its own .debs, since apt locks the folder it downloads
    # into and the converges run side by side.
    name: str
    # Its inventory address; the roles build firewall rules, certificates and allow lists on it.
    address: str = ADDRESS

    @classmethod
    def fresh(cls, workdir: Path, name: str, address: str = ADDRESS) -> Box:
        root = workdir / "root"
        # cp -a keeps owners, modes and device nodes; the cached tree is never touched.
        cp = require_tool("cp", "the converge copies the cached tree")
        subprocess.run([cp, "-a", str(cached_tree()), str(root)], check=True, timeout=600)
        return cls(root, workdir, name, address)

    @property
    def wrapper(self) -> list[str]:
        unshare = require_tool("unshare", "the tree gets its mounts in a namespace")
        script = _namespace_script(self.root, CACHE / f"debs-{self.name}")
        return [unshare, "--mount", "--propagation", "private", "sh", "-c", script, "sh"]

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A command inside the tree (as root), in the tree's mount namespace."""
        done = subprocess.run(
            [*self.wrapper, "chroot", str(self.root), *command],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"{command} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
            )
        return done

    def path(self, inside: str) -> Path:
        return self.root / inside.lstrip("/")

    def write_inventory(
        self,
        source: str,
        variables: Mapping[str, Any],
        vault: Mapping[str, Any],
        groups: Sequence[str] = ("appliance", "postgresql", "model_server", "monitoring"),
    ) -> Path:
        """The example inventory `source`, its one host being this tree, in each of `groups`."""
        folder = self.workdir / f"inventory-{source}"
        if folder.exists():
            shutil.rmtree(folder)
        shutil.copytree(ANSIBLE_DIR / "inventories" / source / "group_vars", folder / "group_vars")
        # The roles read a host's address from ansible_host (firewall rules, nginx's allow
        # lists, certificates), and the chroot connection reads the tree's path from it too. So
        # the address is also a relative path: ansible-playbook runs in the workdir, where a link
        # of that name leads to the tree.
        link = self.workdir / self.address
        if not link.is_symlink():
            link.symlink_to(self.root)
        host = {
            "ansible_connection": "community.general.chroot",
            "ansible_host": self.address,
            "ansible_python_interpreter": "/usr/bin/python3",
        }
        inventory = {
            "all": {
                "hosts": {"box": host},
                "children": {
                    group: {"hosts": {"box": None}} if group in groups else {}
                    for group in ("appliance", "postgresql", "model_server", "monitoring")
                },
            }
        }
        (folder / "hosts.yml").write_text(json.dumps(inventory))
        (folder / "group_vars" / "all" / "vault.yml").write_text(json.dumps(dict(vault)))
        # Beside the inventory, not in it: Ansible reads every file of an inventory folder.
        (self.workdir / f"converge-{source}.json").write_text(json.dumps(dict(variables)))
        return folder

    def converge(
        self,
        inventory: Path,
        playbook: str = "site.yml",
        args: Sequence[str] = (),
        overrides: Mapping[str, Any] | None = None,
    ) -> PlaybookRun:
        variables = self.workdir / f"converge-{inventory.name.removeprefix('inventory-')}.json"
        return run_playbook(
            ANSIBLE_DIR / playbook,
            inventory=inventory,
            workdir=self.workdir,
            extra_vars=[variables, *([overrides] if overrides else [])],
            args=args,
            timeout=1800,
            wrapper=self.wrapper,
        )

    def converge_logged(
        self,
        inventory: Path,
        log: str,
        *,
        playbook: str = "site.yml",
        overrides: Mapping[str, Any] | None = None,
        expect_success: bool = True,
    ) -> PlaybookRun:
        """converge(), its output kept in the workdir as `log` (what a failure is read from)."""
        run = self.converge(inventory, playbook=playbook, overrides=overrides)
        (self.workdir / log).write_text(run.output)
        if expect_success:
            assert run.returncode == 0, run.output[-20000:]
        return run


def assert_changed_nothing(run: PlaybookRun, host: str = "box") -> None:
    """A run that succeeded and changed nothing, naming the tasks that did change if any."""
    assert run.returncode == 0, run.output[-20000:]
    changed = [line for line in run.output.splitlines() if line.startswith("changed: ")]
    assert run.recap(host)["changed"] == 0, "\n".join(changed) + run.output[-8000:]
