"""The `appliance` Ansible role, run for real against this machine as the current user.

The role runs from a one-role playbook: site.yml would also harden, firewall and encrypt this
machine (tests/ansible/test_firewall_role.py and test_encrypted_storage_role.py run those roles
in namespaces and on loop files instead).

Only what needs root is left out (system account, package install, systemd); everything else
runs as it would on a Debian host: the settings file, `appliance init`, the first admin and
verify.yml against a server that really listens on loopback.
"""

from __future__ import annotations

import json
import re
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ansible.playbooks import (
    ANSIBLE_DIR,
    LOCALHOST,
    VENV_BIN,
    PlaybookRun,
    ansible_env,
    run_playbook,
    this_machine_as_app_host,
    write_role_playbook,
)
from tests.served_app import free_port
from tests.tools import require_tool

# Each runs the role for real on this machine: `make test-roles`, never `make test`.
pytestmark = pytest.mark.roles

# The role installs nothing here: it points at the virtualenv running these tests.
VENV = VENV_BIN.parent
ADMIN = "dave"
PASSWORD = "quiet-harbour-lantern-47"


@dataclass(frozen=True)
class Target:
    """This machine as the role sees it: an inventory, the role's variables, where data goes."""

    workdir: Path
    data_dir: Path
    keys_dir: Path
    port: int

    def playbook(self, path: Path, *args: str) -> PlaybookRun:
        return run_playbook(
            path,
            inventory=self.workdir / "inventory.yml",
            workdir=self.workdir,
            extra_vars=[self.workdir / "vars.json"],
            args=args,
        )

    def deploy(self, *args: str) -> PlaybookRun:
        return self.playbook(self.workdir / "appliance-playbook.yml", *args)

    @property
    def appliance_env(self) -> dict[str, str]:
        return {
            **{k: v for k, v in ansible_env(self.workdir).items() if not k.startswith("ANSIBLE_")},
            "APPLIANCE_DATA_DIR": str(self.data_dir),
            "APPLIANCE_KEYS_DIR": str(self.keys_dir),
        }


@pytest.fixture(scope="module", autouse=True)
def ansible_playbook() -> str:
    """The virtualenv's ansible-playbook (ansible-core, a dev dependency)."""
    return require_tool("ansible-playbook", "these tests run the role", directory=VENV_BIN)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Target:
    workdir = tmp_path_factory.mktemp("ansible")
    port = free_port()
    data_dir, keys_dir = workdir / "data", workdir / "keys"
    # ansible_become false: the role's own become (to the service account) is skipped when
    # Ansible already runs as that account.
    inventory = {"appliance": {"hosts": {"localhost": LOCALHOST}}}
    # JSON is YAML, and it spares the test a YAML writer.
    (workdir / "inventory.yml").write_text(json.dumps(inventory))
    role_vars = {
        **this_machine_as_app_host(),
        "appliance_manage_service": False,
        "appliance_data_dir": str(data_dir),
        "appliance_keys_dir": str(keys_dir),
        "appliance_settings": {
            "host": "127.0.0.1",
            "port": port,
            "public_url": "",
            "idle_timeout_minutes": 10,
        },
        "appliance_admin_username": ADMIN,
        "appliance_admin_password": PASSWORD,
        # verify.yml, when a test runs it, waits at most 20 s for the server to come up.
        "appliance_verify_retries": 40,
        "appliance_verify_delay": 0.5,
    }
    (workdir / "vars.json").write_text(json.dumps(role_vars))
    write_role_playbook(workdir, "appliance")
    return Target(workdir, data_dir, keys_dir, port)


@pytest.fixture(scope="module")
def first_run(target: Target) -> PlaybookRun:
    # -vvv prints every task result with its arguments, so a password that slipped past
    # no_log (or onto a command line) would show.
    run = target.deploy("-vvv")
    assert run.returncode == 0, run.output
    return run


@pytest.fixture(scope="module")
def served(target: Target, first_run: PlaybookRun) -> Iterator[subprocess.Popen[str]]:
    with (target.workdir / "serve.log").open("w") as log:
        # No --host/--port: the role's appliance.toml has to supply them.
        process = subprocess.Popen(
            [str(VENV / "bin" / "appliance"), "serve"],
            env=target.appliance_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_it_deploys_with_changes_and_no_failures(first_run: PlaybookRun) -> None:
    recap = first_run.recap()
    assert recap["failed"] == 0
    assert recap["unreachable"] == 0
    assert recap["changed"] >= 4  # directories, settings file, init, first admin


def test_it_runs_without_ansible_warnings(first_run: PlaybookRun) -> None:
    assert "[WARNING]" not in first_run.output
    assert "[DEPRECATION WARNING]" not in first_run.output


def test_it_keeps_the_admin_password_out_of_the_output(first_run: PlaybookRun) -> None:
    assert "Ensure the first admin account exists." in first_run.output
    assert PASSWORD not in first_run.output


@pytest.mark.usefixtures("first_run")
def test_it_creates_the_first_admin(target: Target) -> None:
    listed = subprocess.run(
        [str(VENV / "bin" / "appliance"), "user", "list"],
        env=target.appliance_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert re.search(rf"^{ADMIN}\s+admin\s+active\s+no-mfa$", listed.stdout, re.MULTILINE), (
        listed.stdout
    )


@pytest.mark.usefixtures("first_run")
def test_it_makes_key_files_and_settings_readable_by_their_owner_only(
    target: Target,
) -> None:
    key_files = sorted(target.keys_dir.glob("*.key"))
    assert len(key_files) >= 2
    for path in [*key_files, target.data_dir / "appliance.toml"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in (target.data_dir, target.keys_dir):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


@pytest.mark.usefixtures("first_run")
def test_it_writes_appliance_settings_to_the_toml_file(target: Target) -> None:
    text = (target.data_dir / "appliance.toml").read_text()
    assert f"port = {target.port}\n" in text
    assert 'host = "127.0.0.1"\n' in text
    assert "idle_timeout_minutes = 10\n" in text


def test_it_passes_verify_against_a_running_server(
    target: Target, served: subprocess.Popen[str]
) -> None:
    run = target.playbook(ANSIBLE_DIR / "verify.yml")
    log = (target.workdir / "serve.log").read_text()
    assert run.returncode == 0, run.output + "\n--- serve.log ---\n" + log
    assert run.recap() == {"ok": 4, "changed": 0, "unreachable": 0, "failed": 0}
    assert served.poll() is None, log


def test_it_fails_verify_when_nothing_answers(target: Target) -> None:
    nowhere = json.dumps(
        {
            "appliance_verify_url": f"http://127.0.0.1:{free_port()}",
            "appliance_verify_retries": 1,
            "appliance_verify_delay": 0,
        }
    )
    run = target.playbook(ANSIBLE_DIR / "verify.yml", "--extra-vars", nowhere)
    assert run.returncode != 0, run.output
    assert run.recap()["failed"] == 1
    assert "Wait until the appliance reports itself and its database healthy." in run.output


@pytest.mark.usefixtures("first_run")
def test_it_changes_nothing_on_a_second_run(target: Target) -> None:
    second = target.deploy()
    assert second.returncode == 0, second.output
    recap = second.recap()
    assert recap["changed"] == 0, second.output
    assert recap["failed"] == 0
