"""Every playbook parses against every example inventory, and the inventories have the shape
their README promises."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.ansible.playbooks import ANSIBLE_DIR, VENV_BIN, ansible_env, require_ansible_playbook

INVENTORIES = ["single-box", "hospital", "cpu-box"]
PLAYBOOKS = [
    "preflight.yml",
    "site.yml",
    "verify.yml",
    "unlock.yml",
    "restore-drill.yml",
    "rollback.yml",
    "smoke.yml",
]
GROUPS = ["appliance", "postgresql", "model_server", "monitoring"]


def _groups(inventory: str, workdir: Path) -> dict[str, list[str]]:
    listed = subprocess.run(
        [str(VENV_BIN / "ansible-inventory"), "--inventory", inventory, "--list"],
        env=ansible_env(workdir),
        cwd=ANSIBLE_DIR / "inventories",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = json.loads(listed.stdout)
    return {group: found.get(group, {}).get("hosts", []) for group in GROUPS}


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_every_playbook_passes_the_syntax_check(inventory: str, tmp_path: Path) -> None:
    require_ansible_playbook()
    # One ansible-playbook for all the playbooks: it checks each and names it.
    done = subprocess.run(
        [
            str(VENV_BIN / "ansible-playbook"),
            "--syntax-check",
            "--inventory",
            str(ANSIBLE_DIR / "inventories" / inventory),
            *PLAYBOOKS,
        ],
        env=ansible_env(tmp_path),
        cwd=ANSIBLE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for playbook in PLAYBOOKS:
        assert f"playbook: {playbook}" in done.stdout
    assert "[WARNING]" not in done.stdout + done.stderr


def test_the_single_box_is_one_host_in_every_group(tmp_path: Path) -> None:
    require_ansible_playbook()
    groups = _groups("single-box", tmp_path)
    assert {len(hosts) for hosts in groups.values()} == {1}
    assert len({host for hosts in groups.values() for host in hosts}) == 1


def test_the_hospital_has_several_app_and_gpu_hosts_apart_from_the_database(
    tmp_path: Path,
) -> None:
    require_ansible_playbook()
    groups = _groups("hospital", tmp_path)
    assert len(groups["appliance"]) >= 2
    assert len(groups["model_server"]) >= 2
    assert len(groups["postgresql"]) == 1
    assert not set(groups["postgresql"]) & set(groups["appliance"] + groups["model_server"])
    assert groups["monitoring"]


def test_the_cpu_box_is_one_host_without_postgresql(tmp_path: Path) -> None:
    require_ansible_playbook()
    groups = _groups("cpu-box", tmp_path)
    assert groups["postgresql"] == []
    assert len({host for hosts in groups.values() for host in hosts}) == 1


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_every_inventory_has_a_vault_example_and_no_vault(inventory: str) -> None:
    folder = ANSIBLE_DIR / "inventories" / inventory / "group_vars" / "all"
    assert (folder / "vault.yml.example").is_file()
    # A vault in this repository would be a secret committed by mistake (.gitignore too).
    assert not (folder / "vault.yml").exists()
