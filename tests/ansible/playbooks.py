"""One way for the Ansible tests to run a playbook: this checkout's roles, the test's own
virtualenv, nothing from the developer's ~/.ansible or ANSIBLE_* settings, and the recap parsed."""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.tools import require_tool

ANSIBLE_DIR = Path(__file__).resolve().parents[2] / "ansible"
# The playbooks run with the virtualenv running these tests (ansible and its collections are
# dev dependencies), and so does every module they run on "the target", this machine.
VENV_BIN = Path(sys.prefix) / "bin"
# This machine as an Ansible host: no SSH, no sudo, the test's own Python for modules.
LOCALHOST = {
    "ansible_connection": "local",
    "ansible_become": False,
    "ansible_python_interpreter": sys.executable,
}
_RECAP = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class PlaybookRun:
    returncode: int
    output: str

    def recap(self, host: str = "localhost") -> dict[str, int]:
        for found in _RECAP.finditer(self.output):
            if found["host"] == host:
                return {
                    name: int(found[name]) for name in ("ok", "changed", "unreachable", "failed")
                }
        raise AssertionError(f"no recap for {host}:\n{self.output}")

    def failure_messages(self, host: str | None = None) -> str:
        """The `msg` of every failed task or loop item (of `host` alone when given), as one
        string to search in. Under -vvv a result spans several lines; they are joined until
        they parse."""
        prefixes = (
            ("fatal: ", "failed: ") if host is None else (f"fatal: [{host}]", f"failed: [{host}]")
        )
        messages = []
        lines = self.output.splitlines()
        for index, line in enumerate(lines):
            if not line.startswith(prefixes):
                continue
            first = payload = line.partition(" => ")[2]
            for more in [None, *lines[index + 1 :]]:
                if more is not None:
                    payload += "\n" + more
                try:
                    messages.append(str(json.loads(payload).get("msg", payload)))
                    break
                except json.JSONDecodeError:
                    continue
            else:
                messages.append(first)
        return "\n".join(messages)

    def host_output(self, host: str) -> str:
        """What the run printed about `host`: each of its results, after the task it belongs
        to (for inventories whose hosts are cases of one run)."""
        kept: list[str] = []
        task, ours = "", False
        for line in self.output.splitlines():
            if line.startswith(("TASK [", "PLAY ", "RUNNING HANDLER [")):
                task, ours = line, False
            elif found := re.match(r"^\w+: \[([^\]]+)\]", line):
                ours = found[1] == host
                if ours:
                    kept.append(task)
            elif not line.strip():
                ours = False
            if ours:
                kept.append(line)
        return "\n".join(kept)


def require_ansible_playbook() -> str:
    """The virtualenv's ansible-playbook (ansible, a dev dependency); call it in a fixture."""
    return require_tool("ansible-playbook", "the test runs a playbook", directory=VENV_BIN)


def ansible_env(workdir: Path) -> dict[str, str]:
    # The developer's own ANSIBLE_* (vault password files, callbacks) and APPLIANCE_*
    # settings must not leak into the run, and Ansible must not write under ~/.ansible.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "APPLIANCE_"))}
    env.update(
        ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"),
        ANSIBLE_ROLES_PATH=str(ANSIBLE_DIR / "roles"),
        ANSIBLE_HOME=str(workdir / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(workdir / "ansible-local-tmp"),
        ANSIBLE_REMOTE_TEMP=str(workdir / "ansible-remote-tmp"),
        ANSIBLE_NOCOLOR="1",
        # ansible-lint and ansible-compat keep their caches here instead of ~/.cache.
        XDG_CACHE_HOME=str(workdir / "cache"),
    )
    return env


def run_appliance(
    workdir: Path, *args: str, settings: Mapping[str, str], stdin: str | None = None
) -> str:
    """The test virtualenv's `appliance` command with `settings` (APPLIANCE_* variables) as its
    only settings, for a role's data seen from outside the role; its standard output."""
    env = {k: v for k, v in ansible_env(workdir).items() if not k.startswith("ANSIBLE_")}
    done = subprocess.run(
        [str(VENV_BIN / "appliance"), *args],
        env={**env, **settings},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def run_playbook(
    playbook: Path,
    *,
    inventory: Path,
    workdir: Path,
    extra_vars: Sequence[Mapping[str, Any] | Path] = (),
    args: Sequence[str] = (),
    timeout: float = 120,
    wrapper: Sequence[str] = (),
) -> PlaybookRun:
    """ansible-playbook with each of `extra_vars` as --extra-vars (a mapping as JSON, a path as
    @file), later ones winning, as on the command line; `wrapper` runs it (unshare ...)."""
    command = [*wrapper, str(VENV_BIN / "ansible-playbook"), "--inventory", str(inventory)]
    for more in extra_vars:
        value = f"@{more}" if isinstance(more, Path) else json.dumps(dict(more))
        command += ["--extra-vars", value]
    command += [*args, str(playbook)]
    done = subprocess.run(
        command,
        env=ansible_env(workdir),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return PlaybookRun(done.returncode, done.stdout + done.stderr)


def this_machine_as_app_host() -> dict[str, Any]:
    """The appliance role's variables for this machine as an app host: the test's own account
    and virtualenv, no account made and nothing installed (each test adds its own)."""
    return {
        "appliance_create_user": False,
        "appliance_user": pwd.getpwuid(os.getuid()).pw_name,
        "appliance_group": grp.getgrgid(os.getgid()).gr_name,
        "appliance_install": False,
        "appliance_venv": str(VENV_BIN.parent),
    }


def write_role_playbook(workdir: Path, role: str, *, gather_facts: bool = False) -> Path:
    """A playbook that applies one role to every host of the inventory (JSON is YAML)."""
    play = {"name": f"Apply the {role} role.", "hosts": "all", "gather_facts": gather_facts}
    if gather_facts:
        play["gather_subset"] = ["min"]
    path = workdir / f"{role}-playbook.yml"
    path.write_text(json.dumps([{**play, "roles": [role]}]))
    return path


def write_localhost_inventory(workdir: Path, groups: Sequence[str] = ()) -> Path:
    """An inventory holding only this machine, in each of `groups` (or ungrouped)."""
    children = {group: {"hosts": {"localhost": None}} for group in groups}
    inventory = {"all": {"hosts": {"localhost": LOCALHOST}, "children": children}}
    path = workdir / "inventory.yml"
    path.write_text(json.dumps(inventory))
    return path
