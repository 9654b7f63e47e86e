"""site.yml on a bare Debian 12 tree with the small practice's inventory (inventories/cpu-box):
everything a host gets, checked in the tree with the real tools, and a second run that changes
nothing. `make test-converge` runs it (never `make test`: it installs real packages from the
Debian mirror and the whole wheelhouse, minutes of work).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.migrate import head_revision
from tests.ansible.playbooks import ANSIBLE_DIR, PlaybookRun, require_ansible_playbook, run_playbook
from tests.converge.box import ADDRESS, REPO, Box, assert_changed_nothing
from tests.converge.clinic import (
    ADMIN_PASSWORD,
    APP_BIN,
    APP_ENV,
    VAULT,
    build_wheelhouse,
    tree_values,
)
from tests.tools import require_root, require_tool

# The box is installed from this release first, then upgraded to the checkout: the last commit
# before migration 0011, so the upgrade has a schema to move.
PREVIOUS_RELEASE = "7f552d8^"


def practice_values(wheelhouse: Path) -> dict[str, Any]:
    """The cpu-box inventory's placeholders replaced, and every role told it is in a tree."""
    return {
        **tree_values(wheelhouse),
        "firewall_clinic_networks": ["10.20.0.0/24"],
        "monitoring_smtp_from": "notes-alerts@practice.lan",
        "monitoring_alert_email": "it-oncall@practice.lan",
        "appliance_settings": {
            "host": "127.0.0.1",
            "port": 8000,
            "public_url": "https://notes.practice.lan",
            "idle_timeout_minutes": 15,
            "metrics_token": "{{ vault_appliance_metrics_token }}",
            "model_api_key": "{{ vault_model_api_key }}",
        },
    }


@pytest.fixture(scope="module")
def previous_wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheelhouse of PREVIOUS_RELEASE, its schema behind this checkout's: the box is first
    installed from it, then upgraded to this checkout, as a clinic's would be."""
    source = tmp_path_factory.mktemp("previous-release")
    git = require_tool("git", "the converge installs an earlier release first")
    archive = subprocess.run(
        [git, "-C", str(REPO), "archive", "--format=tar", PREVIOUS_RELEASE],
        check=True,
        capture_output=True,
        timeout=120,
    )
    tar = require_tool("tar", "the earlier release is unpacked from git archive")
    subprocess.run([tar, "-x", "-C", str(source)], input=archive.stdout, check=True, timeout=120)
    # That release had no wheelhouse script yet: this checkout's builds it the same way.
    shutil.copy2(REPO / "scripts" / "build-wheelhouse.sh", source / "scripts")
    return build_wheelhouse(source, tmp_path_factory.mktemp("wheelhouse") / "previous-cpu")


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    require_root("debootstrap, chroot and mount namespaces need root")
    require_ansible_playbook()
    require_tool("unshare", "the tree gets its /proc and /dev in a mount namespace")
    workdir = tmp_path_factory.mktemp("converge-cpu-box")
    box = Box.fresh(workdir, "cpu-box")
    try:
        yield box
    finally:
        shutil.rmtree(box.root, ignore_errors=True)


@pytest.fixture(scope="module")
def inventory(box: Box, wheelhouse: Path) -> Path:
    return box.write_inventory(
        "cpu-box",
        practice_values(wheelhouse),
        VAULT,
        groups=("appliance", "model_server", "monitoring"),
    )


@pytest.fixture(scope="module")
def installed(box: Box, inventory: Path, previous_wheelhouse: Path) -> PlaybookRun:
    """The bare tree to the previous release."""
    previous = str(previous_wheelhouse)
    overrides = {"appliance_wheelhouse": previous, "model_server_wheelhouse": previous}
    return box.converge_logged(inventory, "install-run.log", overrides=overrides)


@pytest.fixture(scope="module")
def first(box: Box, inventory: Path, installed: PlaybookRun) -> PlaybookRun:
    """The previous release upgraded to this checkout's."""
    return box.converge_logged(inventory, "upgrade-run.log")


@pytest.fixture(scope="module")
def second(box: Box, inventory: Path, first: PlaybookRun) -> PlaybookRun:
    return box.converge_logged(inventory, "second-run.log", expect_success=False)


def _revision(database: Path) -> str:
    with sqlite3.connect(database) as connection:
        return str(connection.execute("SELECT version_num FROM alembic_version").fetchone()[0])


def test_the_upgrade_snapshots_and_migrates_once_keeping_the_people(
    box: Box, first: PlaybookRun
) -> None:
    # Changed exactly when the schema moved (the task reads `appliance migrate`'s own words).
    migrate_task = re.search(
        r"TASK \[appliance : Migrate the database[^\n]*\n(\w+): \[box\]", first.output
    )
    assert migrate_task and migrate_task[1] == "changed", first.output[-20000:]
    marker = json.loads(box.path("/opt/appliance/release.json").read_text())
    assert marker["complete"] is True
    old, new = marker["previous"], marker["release"]
    assert old != new
    snapshot = box.path(f"/var/lib/appliance/upgrade-snapshots/{old}-to-{new}")
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o700
    assert (snapshot / "appliance.db").is_file(), sorted(p.name for p in snapshot.iterdir())
    # The snapshot holds the schema the previous release left; the live database is at head.
    assert _revision(snapshot / "appliance.db") != head_revision()
    assert _revision(box.path("/var/lib/appliance/appliance.db")) == head_revision()
    users = sqlite3.connect(snapshot / "appliance.db").execute("SELECT count(*) FROM users")
    assert users.fetchone()[0] >= 1  # the first admin, kept
    verified = box.run(
        "runuser", "-u", "appliance", "--", *APP_ENV, APP_BIN, "audit", "verify", check=False
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_second_run_changes_nothing(second: PlaybookRun) -> None:
    assert_changed_nothing(second)


@pytest.mark.usefixtures("first")
def test_the_packages_a_host_needs_are_installed(box: Box) -> None:
    wanted = ["nftables", "chrony", "auditd", "openssh-server", "sudo", "python3-venv"]
    done = box.run("dpkg-query", "--show", "--showformat", "${Package} ${Status}\\n", *wanted)
    installed = {line.split()[0] for line in done.stdout.splitlines() if "installed" in line}
    assert installed == set(wanted), done.stdout


@pytest.mark.usefixtures("first")
def test_sshd_admits_the_admins_by_key_only_and_never_root(box: Box) -> None:
    box.run("mkdir", "-p", "/run/sshd")
    effective = box.run("/usr/sbin/sshd", "-T").stdout
    settings = dict(line.split(" ", 1) for line in effective.splitlines() if " " in line)
    assert settings["permitrootlogin"] == "no"
    assert settings["passwordauthentication"] == "no"
    assert settings["kbdinteractiveauthentication"] == "no"
    assert settings["allowgroups"].split() == ["ssh-users"] or "allowgroups" in settings, settings
    assert box.run("getent", "passwd", "alice").returncode == 0


@pytest.mark.usefixtures("first")
def test_the_firewall_ruleset_parses(box: Box) -> None:
    box.run("nft", "--check", "--file", "/etc/nftables.conf")


@pytest.mark.usefixtures("first")
def test_the_units_are_enabled_and_pass_systemd_analyze_verify(box: Box) -> None:
    # nftables.service is wanted by sysinit.target, the rest by multi-user.target or timers.
    enabled = {path.name for path in box.path("/etc/systemd/system").glob("*.wants/*")}
    (box.workdir / "enabled-units.txt").write_text("\n".join(sorted(enabled)))
    wanted = {"appliance.service", "nftables.service", "chrony.service", "auditd.service"}
    assert wanted <= enabled, sorted(enabled)
    done = box.run(
        "systemd-analyze", "verify", "/etc/systemd/system/appliance.service", check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.usefixtures("first")
def test_the_data_and_keys_are_the_service_accounts_alone(box: Box) -> None:
    account = box.run("getent", "passwd", "appliance").stdout.split(":")
    uid = int(account[2])
    for folder in ("/var/lib/appliance", "/var/lib/appliance/keys"):
        info = box.path(folder).stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (uid, 0o700), folder
    keys = list(box.path("/var/lib/appliance/keys").glob("*.key"))
    assert len(keys) == 5
    for path in [*keys, box.path("/var/lib/appliance/appliance.toml")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


@pytest.mark.usefixtures("first")
def test_the_first_admin_exists_in_the_installed_appliance(box: Box) -> None:
    listed = box.run(
        "runuser",
        "-u",
        "appliance",
        "--",
        "env",
        "APPLIANCE_DATA_DIR=/var/lib/appliance",
        "/opt/appliance/venv/bin/appliance",
        "user",
        "list",
    ).stdout
    assert "practice-admin" in listed and "admin" in listed, listed


@pytest.mark.usefixtures("first")
def test_the_installed_appliance_came_from_the_wheelhouse(box: Box, wheelhouse: Path) -> None:
    manifest = json.loads((wheelhouse / "wheelhouse.json").read_text())
    frozen = box.run("/opt/appliance/venv/bin/python", "-m", "pip", "list", "--format=json")
    versions = {p["name"]: p["version"] for p in json.loads(frozen.stdout)}
    assert versions["therapy-notes-appliance"] == manifest["version"]
    assert "pytest" not in versions and "torch" not in versions  # runtime only


class Network:
    """Two network namespaces joined by a veth pair: the box (10.20.0.10, its own nftables
    ruleset loaded) and a clinic workstation (10.20.0.60), which is also the box's default
    route, so that a refused outbound packet is the firewall's doing and never "no route"."""

    def __init__(self, ip: str) -> None:
        self.ip = ip
        suffix = str(os.getpid())[-5:]
        self.box, self.clinic = f"ab-box-{suffix}", f"ab-clinic-{suffix}"

    def up(self, ruleset: Path) -> None:
        veth_box, veth_clinic = f"{self.box}-v", f"{self.clinic}-v"
        for command in (
            ["netns", "add", self.box],
            ["netns", "add", self.clinic],
            ["link", "add", veth_box[:15], "type", "veth", "peer", "name", veth_clinic[:15]],
            ["link", "set", veth_box[:15], "netns", self.box],
            ["link", "set", veth_clinic[:15], "netns", self.clinic],
            ["-n", self.box, "addr", "add", f"{ADDRESS}/24", "dev", veth_box[:15]],
            ["-n", self.clinic, "addr", "add", "10.20.0.60/24", "dev", veth_clinic[:15]],
            ["-n", self.box, "link", "set", "lo", "up"],
            ["-n", self.clinic, "link", "set", "lo", "up"],
            ["-n", self.box, "link", "set", veth_box[:15], "up"],
            ["-n", self.clinic, "link", "set", veth_clinic[:15], "up"],
            ["-n", self.box, "route", "add", "default", "via", "10.20.0.60"],
        ):
            subprocess.run([self.ip, *command], check=True, capture_output=True)
        subprocess.run(
            [self.ip, "netns", "exec", self.box, "nft", "--file", str(ruleset)],
            check=True,
            capture_output=True,
        )

    def down(self) -> None:
        for name in (self.box, self.clinic):
            subprocess.run([self.ip, "netns", "delete", name], check=False, capture_output=True)


# Function-scoped: the services are down again before rollback.yml puts the database back.
@pytest.fixture
def running_box(box: Box, second: PlaybookRun) -> Iterator[Network]:
    """The converged tree's firewall, web app and nginx running in the box's namespace, started
    by hand as their units would start them (there is no systemd here)."""
    network = Network(require_tool("ip", "the smoke test joins two network namespaces"))
    network.up(box.path("/etc/nftables.conf"))
    in_box = [network.ip, "netns", "exec", network.box, *box.wrapper, "chroot", str(box.root)]
    environment = [
        "env",
        "APPLIANCE_DATA_DIR=/var/lib/appliance",
        "APPLIANCE_KEYS_DIR=/var/lib/appliance/keys",
    ]
    services = [
        [*in_box, "runuser", "-u", "appliance", "--", *environment, APP_BIN, "serve"],
        [*in_box, "/usr/sbin/nginx", "-g", "daemon off;"],
    ]
    logs = box.workdir / "services.log"
    started: list[subprocess.Popen[bytes]] = []
    try:
        with logs.open("ab") as log:
            for command in services:
                started.append(
                    subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
                )
        _wait_for_https(network, box)
        yield network
    finally:
        for process in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        network.down()


def _wait_for_https(network: Network, box: Box) -> None:
    probe = [
        network.ip, "netns", "exec", network.clinic, sys.executable, "-c",
        "import socket,ssl,sys;c=ssl._create_unverified_context();"
        "s=c.wrap_socket(socket.create_connection(('10.20.0.10',443),timeout=2));"
        "s.sendall(b'GET /healthz HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n');"
        "sys.exit(0 if b' 200 ' in s.recv(200) else 1)",
    ]  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
            return
        time.sleep(1)
    log = (box.workdir / "services.log").read_text(errors="replace")
    raise AssertionError(f"the web app never answered through nginx:\n{log[-5000:]}")


def test_smoke_yml_passes_against_the_converged_box(
    box: Box, inventory: Path, running_box: Network
) -> None:
    # The playbook's own host is the box (its egress and counters, through a chroot in the box's
    # namespace); its workstation checks run on "localhost", here the clinic's namespace.
    chroot_in_box = box.workdir / "chroot-in-box"
    chroot_in_box.write_text(f'#!/bin/sh\nexec ip netns exec {running_box.box} chroot "$@"\n')
    chroot_in_box.chmod(0o755)
    run = run_playbook(
        ANSIBLE_DIR / "smoke.yml",
        inventory=inventory,
        workdir=box.workdir,
        extra_vars=[
            box.workdir / "converge-cpu-box.json",
            {"ansible_chroot_exe": str(chroot_in_box)},
        ],
        timeout=600,
        wrapper=[running_box.ip, "netns", "exec", running_box.clinic, *box.wrapper],
    )
    (box.workdir / "smoke.log").write_text(run.output)
    assert run.returncode == 0, run.output[-12000:]
    assert run.recap("box")["failed"] == 0
    assert ADMIN_PASSWORD not in run.output


MIGRATION_0011 = "appliance/migrations/versions/0011_dictation_submission_keys.py"
# rollback.yml's run, and the release marker the upgrade left before it.
RolledBack = tuple[PlaybookRun, dict[str, Any]]


def _installed(box: Box, relative: str) -> bool:
    return any(box.path("/opt/appliance/venv/lib").glob(f"python3*/site-packages/{relative}"))


@pytest.fixture(scope="module")
def rolled_back(box: Box, inventory: Path, second: PlaybookRun) -> RolledBack:
    """rollback.yml after the upgrade (and the smoke test, whose services are down by now)."""
    upgraded = json.loads(box.path("/opt/appliance/release.json").read_text())
    assert _installed(box, MIGRATION_0011)  # the checkout's release, before the rollback
    return box.converge_logged(inventory, "rollback-run.log", playbook="rollback.yml"), upgraded


def test_rollback_yml_puts_the_previous_release_and_its_database_back(
    box: Box, rolled_back: RolledBack
) -> None:
    _, upgraded = rolled_back
    marker = json.loads(box.path("/opt/appliance/release.json").read_text())
    assert marker["release"] == upgraded["previous"], marker
    # The previous release's code, which had no migration 0011, on the schema it left.
    assert not _installed(box, MIGRATION_0011)
    assert _revision(box.path("/var/lib/appliance/appliance.db")) != head_revision()
    snapshots = box.path("/var/lib/appliance/upgrade-snapshots")
    assert not (snapshots / f"{upgraded['previous']}-to-{upgraded['release']}").exists()
    listed = box.run("runuser", "-u", "appliance", "--", *APP_ENV, APP_BIN, "user", "list")
    assert "practice-admin" in listed.stdout
    verified = box.run(
        "runuser", "-u", "appliance", "--", *APP_ENV, APP_BIN, "audit", "verify", check=False
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_second_rollback_refuses_and_changes_nothing(
    box: Box, inventory: Path, rolled_back: RolledBack
) -> None:
    again = box.converge(inventory, playbook="rollback.yml")
    assert again.returncode != 0, again.output[-8000:]
    assert again.recap("box")["changed"] == 0
    assert "has no previous release to roll back to" in again.failure_messages()
