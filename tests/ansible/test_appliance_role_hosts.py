"""The appliance role where a site has more than the one box: several app hosts on one database,
volumes that must be mounted first, a unit scored before it goes live, a wheelhouse checked
before anything from it is installed.

Two "hosts" here are this machine twice (local connections), each with its own data and keys
folders, which is enough to watch the key files travel from the key host to the other.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.ansible.playbooks import (
    LOCALHOST,
    PlaybookRun,
    require_ansible_playbook,
    run_playbook,
    this_machine_as_app_host,
    write_role_playbook,
)
from tests.served_app import free_port
from tests.tools import require_tool

# Each runs the role for real on this machine: `make test-roles`, never `make test`.
pytestmark = pytest.mark.roles

KEY_NAMES = ("audit.key", "credentials.key", "index.key", "kek.key", "web_secret.key")


def _role_vars(workdir: Path, port: int) -> dict[str, Any]:
    """This machine as an app host: the test's virtualenv, the test's own account."""
    return {
        **this_machine_as_app_host(),
        "appliance_manage_service": False,
        "appliance_settings": {"host": "127.0.0.1", "port": port},
        "appliance_install_dir": str(workdir / "opt"),
    }


@dataclass(frozen=True)
class Site:
    workdir: Path
    port: int

    def host_dirs(self, host: str) -> tuple[Path, Path]:
        return self.workdir / host / "data", self.workdir / host / "keys"

    def run(self, hosts: Mapping[str, Mapping[str, Any]], **overrides: Any) -> PlaybookRun:
        members = {name: {**LOCALHOST, **more} for name, more in hosts.items()}
        inventory = {"appliance": {"hosts": members}}
        path = self.workdir / "inventory.yml"
        path.write_text(json.dumps(inventory))
        return run_playbook(
            self.workdir / "appliance-playbook.yml",
            inventory=path,
            workdir=self.workdir,
            extra_vars=[{**_role_vars(self.workdir, self.port), **overrides}],
        )

    def two_hosts(self, **overrides: Any) -> PlaybookRun:
        hosts = {}
        for name in ("app1", "app2"):
            data, keys = self.host_dirs(name)
            hosts[name] = {"appliance_data_dir": str(data), "appliance_keys_dir": str(keys)}
        # One database for both, as app hosts share one PostgreSQL database in a hospital.
        shared = {
            "appliance_settings": {
                "host": "127.0.0.1",
                "port": self.port,
                "database_url": f"sqlite:///{self.workdir / 'shared.db'}",
            },
            "appliance_admin_username": "dave",
            "appliance_admin_password": "quiet-harbour-lantern-47",
        }
        return self.run(hosts, **shared, **overrides)


def _digests(keys_dir: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in keys_dir.glob("*.key")}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    require_ansible_playbook()
    workdir = tmp_path_factory.mktemp("site")
    write_role_playbook(workdir, "appliance")
    return Site(workdir, free_port())


@pytest.fixture(scope="module")
def shared(site: Site) -> PlaybookRun:
    run = site.two_hosts()
    assert run.returncode == 0, run.output
    return run


def test_every_app_host_gets_the_key_hosts_key_files(site: Site, shared: PlaybookRun) -> None:
    first, second = (_digests(site.host_dirs(h)[1]) for h in ("app1", "app2"))
    assert sorted(first) == sorted(KEY_NAMES)
    assert first == second
    for path in site.host_dirs("app2")[1].glob("*.key"):
        assert path.stat().st_mode & 0o777 == 0o600, path
        assert path.stat().st_size == 32, path


def test_shared_keys_stay_out_of_the_output(site: Site, shared: PlaybookRun) -> None:
    keys = site.host_dirs("app1")[1]
    for path in keys.glob("*.key"):
        assert base64.b64encode(path.read_bytes()).decode() not in shared.output


@pytest.mark.usefixtures("shared")
def test_a_second_run_over_shared_keys_changes_nothing(site: Site) -> None:
    again = site.two_hosts()
    assert again.returncode == 0, again.output
    assert again.recap("app1")["changed"] == 0, again.output
    assert again.recap("app2")["changed"] == 0, again.output


@pytest.mark.usefixtures("shared")
def test_a_host_whose_key_differs_fails_the_play_and_keeps_its_key(site: Site) -> None:
    audit = site.host_dirs("app2")[1] / "audit.key"
    original = audit.read_bytes()
    audit.write_bytes(os.urandom(32))
    changed = audit.read_bytes()
    try:
        run = site.two_hosts()
        assert run.returncode != 0, run.output
        message = run.failure_messages()
        assert "app2 holds audit.key" in message, run.output
        assert "differ from app1's" in message
        assert audit.read_bytes() == changed  # never overwritten
    finally:
        audit.write_bytes(original)


def test_an_unmounted_data_volume_stops_the_role_before_it_writes(site: Site) -> None:
    data, keys = site.workdir / "unmounted" / "data", site.workdir / "unmounted" / "keys"
    hosts = {"lone": {"appliance_data_dir": str(data), "appliance_keys_dir": str(keys)}}
    not_mounted = site.workdir / "unmounted"
    not_mounted.mkdir()
    run = site.run(hosts, appliance_requires_mounts=[str(not_mounted)])
    assert run.returncode != 0, run.output
    assert f"{not_mounted} is not mounted on lone" in run.failure_messages(), run.output
    assert run.recap("lone")["changed"] == 0
    assert not data.exists() and not keys.exists()


def _unit_run(site: Site, name: str, **overrides: Any) -> tuple[PlaybookRun, Path]:
    require_tool("systemd-analyze", "the role scores its unit with systemd-analyze security")
    data, keys = site.workdir / name / "data", site.workdir / name / "keys"
    units = site.workdir / name / "systemd"
    units.mkdir(parents=True)
    hosts = {name: {"appliance_data_dir": str(data), "appliance_keys_dir": str(keys)}}
    run = site.run(
        hosts,
        appliance_manage_service=True,
        appliance_runtime=False,
        # The unit is in a folder of the test's, not this machine's systemd.
        appliance_enable_at_boot=False,
        appliance_systemd_dir=str(units),
        appliance_unit_check_dir=str(site.workdir / name / "unit-check"),
        appliance_requires_mounts=["/"],
        **overrides,
    )
    return run, units / "appliance.service"


def test_the_unit_is_scored_and_installed_with_its_mount_requirement(site: Site) -> None:
    run, unit = _unit_run(site, "scored")
    assert run.returncode == 0, run.output
    text = unit.read_text()
    assert "RequiresMountsFor=/\n" in text
    assert "ProtectSystem=strict\n" in text


def test_a_unit_more_exposed_than_the_threshold_never_replaces_the_live_one(site: Site) -> None:
    run, unit = _unit_run(site, "exposed", appliance_unit_exposure_threshold=5)
    assert run.returncode != 0, run.output
    assert "systemd-analyze security rates appliance.service above 5" in run.failure_messages()
    assert not unit.exists()


def _wheelhouse(folder: Path) -> Path:
    """A wheelhouse with the files scripts/build-wheelhouse.sh writes (the wheel is a stand-in:
    the checksum test never gets as far as installing it)."""
    folder.mkdir(parents=True)
    wheel = "therapy_notes_appliance-0.1.0-py3-none-any.whl"
    (folder / wheel).write_bytes(b"stand-in wheel")
    manifest = {"project": "therapy-notes-appliance", "version": "0.1.0", "wheel": wheel}
    (folder / "wheelhouse.json").write_text(json.dumps(manifest))
    # The format `sha256sum --check` reads: digest, two spaces, name.
    (folder / "SHA256SUMS").write_text(
        "".join(
            f"{hashlib.sha256((folder / name).read_bytes()).hexdigest()}  {name}\n"
            for name in (wheel, "wheelhouse.json")
        )
    )
    return folder / wheel


def test_a_wheel_that_no_longer_matches_its_checksum_is_never_installed(site: Site) -> None:
    wheelhouse = site.workdir / "wheelhouse"
    wheel = _wheelhouse(wheelhouse)
    wheel.write_bytes(b"swapped on the way")
    venv = site.workdir / "fresh-venv"
    data, keys = site.workdir / "wheels" / "data", site.workdir / "wheels" / "keys"
    hosts = {"wheels": {"appliance_data_dir": str(data), "appliance_keys_dir": str(keys)}}
    run = site.run(
        hosts,
        appliance_install=True,
        appliance_wheelhouse=str(wheelhouse),
        appliance_system_packages=[],
        appliance_venv=str(venv),
    )
    assert run.returncode != 0, run.output
    message = run.failure_messages()
    assert "does not match its SHA256SUMS" in message, run.output
    assert wheel.name in message
    assert not venv.exists()


def test_a_wheelhouse_without_its_manifest_is_refused_before_any_change(site: Site) -> None:
    empty = site.workdir / "not-a-wheelhouse"
    empty.mkdir()
    hosts = {"nowheels": {"appliance_data_dir": str(site.workdir / "nowheels")}}
    run = site.run(hosts, appliance_install=True, appliance_wheelhouse=str(empty))
    assert run.returncode != 0, run.output
    assert "scripts/build-wheelhouse.sh --out" in run.failure_messages(), run.output
    assert run.recap("nowheels")["changed"] == 0
