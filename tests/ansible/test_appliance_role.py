"""The `appliance` Ansible role, run for real against this machine as the current user.

Only what needs root is left out (system account, package install, systemd); everything else
runs as it would on a Debian host: the settings file, `appliance init`, the first admin and
verify.yml against a server that really listens on loopback.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.served_app import free_port
from tests.tools import require_tool

ANSIBLE_DIR = Path(__file__).resolve().parents[2] / "ansible"
# The role installs nothing here: it points at the virtualenv running these tests.
VENV = Path(sys.prefix)
ADMIN = "dave"
PASSWORD = "quiet-harbour-lantern-47"
RECAP = re.compile(
    r"^localhost\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class PlaybookRun:
    returncode: int
    output: str

    def recap(self) -> dict[str, int]:
        found = RECAP.search(self.output)
        assert found, self.output
        return {name: int(value) for name, value in found.groupdict().items()}


@dataclass(frozen=True)
class Target:
    """This machine as the role sees it: an inventory, the role's variables, where data goes."""

    workdir: Path
    data_dir: Path
    keys_dir: Path
    port: int
    env: dict[str, str]

    def playbook(self, name: str, *args: str) -> PlaybookRun:
        command = [
            str(VENV / "bin" / "ansible-playbook"),
            "--inventory",
            str(self.workdir / "inventory.yml"),
            "--extra-vars",
            f"@{self.workdir / 'vars.json'}",
            *args,
            str(ANSIBLE_DIR / name),
        ]
        done = subprocess.run(
            command,
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return PlaybookRun(done.returncode, done.stdout + done.stderr)

    @property
    def appliance_env(self) -> dict[str, str]:
        return {
            **{k: v for k, v in self.env.items() if not k.startswith("ANSIBLE_")},
            "APPLIANCE_DATA_DIR": str(self.data_dir),
            "APPLIANCE_KEYS_DIR": str(self.keys_dir),
        }


def _ansible_env(workdir: Path) -> dict[str, str]:
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
    )
    return env


@pytest.fixture(scope="module", autouse=True)
def ansible_playbook() -> str:
    """The virtualenv's ansible-playbook (ansible-core, a dev dependency)."""
    return require_tool("ansible-playbook", "these tests run the role", directory=VENV / "bin")


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Target:
    workdir = tmp_path_factory.mktemp("ansible")
    port = free_port()
    data_dir, keys_dir = workdir / "data", workdir / "keys"
    # site.yml becomes root; as a variable, ansible_become overrides that play keyword.
    localhost = {
        "ansible_connection": "local",
        "ansible_become": False,
        "ansible_python_interpreter": sys.executable,
    }
    inventory = {"appliance": {"hosts": {"localhost": localhost}}}
    # JSON is YAML, and it spares the test a YAML writer.
    (workdir / "inventory.yml").write_text(json.dumps(inventory))
    role_vars = {
        "appliance_create_user": False,
        "appliance_user": pwd.getpwuid(os.getuid()).pw_name,
        "appliance_group": grp.getgrgid(os.getgid()).gr_name,
        "appliance_install": False,
        "appliance_venv": str(VENV),
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
    return Target(workdir, data_dir, keys_dir, port, _ansible_env(workdir))


@pytest.fixture(scope="module")
def first_run(target: Target) -> PlaybookRun:
    # -vvv prints every task result with its arguments, so a password that slipped past
    # no_log (or onto a command line) would show.
    run = target.playbook("site.yml", "-vvv")
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


@pytest.mark.parametrize("playbook", ["site.yml", "verify.yml"])
def test_it_passes_ansible_syntax_check(playbook: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            str(VENV / "bin" / "ansible-playbook"),
            "--syntax-check",
            "--inventory",
            str(ANSIBLE_DIR / "inventory.example.yml"),
            str(ANSIBLE_DIR / playbook),
        ],
        env=_ansible_env(tmp_path),
        cwd=ANSIBLE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"playbook: {ANSIBLE_DIR / playbook}" in done.stdout


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
    run = target.playbook("verify.yml")
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
    run = target.playbook("verify.yml", "--extra-vars", nowhere)
    assert run.returncode != 0, run.output
    assert run.recap()["failed"] == 1
    assert "Wait until the appliance reports itself and its database healthy." in run.output


@pytest.mark.usefixtures("first_run")
def test_it_changes_nothing_on_a_second_run(target: Target) -> None:
    second = target.playbook("site.yml")
    assert second.returncode == 0, second.output
    recap = second.recap()
    assert recap["changed"] == 0, second.output
    assert recap["failed"] == 0
