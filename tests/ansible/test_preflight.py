"""preflight.yml, the first play of site.yml: bad input stops every host before anything changes.

Each case starts from one good inventory (the single box's group_vars, this machine as the
host, its placeholders replaced) that passes, changes one thing, and expects the one message
that names it, with changed=0. The shipped example inventories themselves are refused.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ansible.disks import LoopDevice
from tests.ansible.playbooks import (
    ANSIBLE_DIR,
    LOCALHOST,
    PlaybookRun,
    require_ansible_playbook,
    run_playbook,
)
from tests.tools import require_root

PREFLIGHT = ANSIBLE_DIR / "preflight.yml"
INVENTORIES = ANSIBLE_DIR / "inventories"
HOSPITAL_HOSTS = [
    f"notes-{name}.hospital.example" for name in ("app1", "app2", "db1", "gpu1", "gpu2", "mon1")
]
# What the hospital's vault holds besides: each host's certificate and key.
HOSPITAL_VAULT = {
    "vault_tls_certificates": dict.fromkeys(HOSPITAL_HOSTS, "PEM certificate"),
    "vault_tls_private_keys": dict.fromkeys(HOSPITAL_HOSTS, "PEM private key"),
}
VAULT = {
    "vault_appliance_admin_password": "quiet-harbour-lantern-47",
    "vault_appliance_metrics_token": "4f1c9a7e2b6d8053e1a9c4b7f0d2e6a8",
    "vault_model_api_key": "9b3e7d1f5a2c8e4b6d0f3a7c1e5b9d2f",
    "vault_backup_data_password": "a long password for the data backups",
    "vault_backup_keys_password": "another long password, for the keys",
    "vault_encrypted_storage_passphrase": "a long passphrase kept in the vault",
    "vault_postgresql_appliance_password": "database-password-for-the-app",
    "vault_base_admin_password_hashes": {
        "alice": "$y$j9T$abcdefghijklmnopqrstu.$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO",
        "bob": "$y$j9T$abcdefghijklmnopqrstu.$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO",
    },
}
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJv9dU2bE3mB1pXxQyWzLq0sT7kR4nA8cF6hG2jY5oPe"


def clinic_values(device: Path) -> dict[str, Any]:
    """The single box's placeholders replaced by values a clinic could have."""
    return {
        "appliance_profile": "cpu",
        "base_apt_mirror": "http://mirror.clinic.lan/debian",
        "base_apt_security_mirror": "http://mirror.clinic.lan/debian-security",
        "base_ntp_servers": ["10.20.0.123"],
        "base_admin_users": [
            {
                "name": "alice",
                "ssh_keys": [f"{KEY} alice@laptop"],
                "password_hash": "{{ vault_base_admin_password_hashes.alice }}",
            }
        ],
        "base_log_reader_users": [{"name": "compliance", "ssh_keys": [f"{KEY} compliance"]}],
        "firewall_clinic_networks": ["10.20.0.0/24"],
        "firewall_admin_networks": ["10.20.0.48/29"],
        # Run locally there is no SSH connection to read the controller's address from.
        "firewall_controller_address": "10.20.0.50",
        "firewall_dns_servers": ["10.20.0.53"],
        "firewall_mirror_hosts": ["10.20.0.80"],
        "firewall_backup_targets": ["10.30.0.20"],
        "firewall_smtp_relays": ["10.20.0.25"],
        "backup_keys_repository": "sftp:appliance-backup@10.30.0.20:/srv/appliance-keys",
        # The cpu profile serves the bundled models.
        "model_server_models": [],
        "monitoring_smtp_relay": "10.20.0.25:587",
        "monitoring_smtp_from": "notes-alerts@clinic.lan",
        "monitoring_alert_email": "it-oncall@clinic.lan",
        # An empty loop device as the data disk; this machine has no device-mapper to open it.
        "encrypted_storage_runtime": False,
        "encrypted_storage_device_prefixes": ["/dev/loop"],
        "encrypted_storage_volumes": [
            {
                "name": "appliance-data",
                "device": str(device),
                "mount_point": "/var/lib/appliance",
                "units": ["appliance.service"],
            }
        ],
        "appliance_settings": {
            "host": "127.0.0.1",
            "port": 8000,
            "public_url": "https://notes.clinic.lan",
            "idle_timeout_minutes": 15,
        },
    }


@dataclass(frozen=True)
class Site:
    """A copy of the single box's inventory with this machine as its hosts."""

    workdir: Path
    device: Path

    def inventory(self, hosts: tuple[str, ...] = ("localhost",), vault: bool = True) -> Path:
        folder = self.workdir / f"inventory-{len(hosts)}-{vault}"
        if not folder.exists():
            shutil.copytree(INVENTORIES / "single-box" / "group_vars", folder / "group_vars")
            members = {name: None for name in hosts}
            groups = ["appliance", "postgresql", "model_server", "monitoring"]
            inventory = {
                "all": {
                    "hosts": dict.fromkeys(hosts, LOCALHOST),
                    "children": {group: {"hosts": members} for group in groups},
                }
            }
            (folder / "hosts.yml").write_text(json.dumps(inventory))
            if vault:
                (folder / "group_vars/all/vault.yml").write_text(json.dumps(VAULT))
        return folder

    def preflight(self, inventory: Path | None = None, **overrides: Any) -> PlaybookRun:
        return run_playbook(
            PREFLIGHT,
            inventory=inventory or self.inventory(),
            workdir=self.workdir,
            extra_vars=[
                clinic_values(self.device),
                {
                    "appliance_wheelhouse": str(self.wheelhouse),
                    "model_server_wheelhouse": str(self.wheelhouse),
                },
                overrides,
            ],
        )

    @property
    def wheelhouse(self) -> Path:
        """The two files the preflight asks of a wheelhouse (it installs nothing from it)."""
        folder = self.workdir / "wheelhouse"
        if not folder.exists():
            folder.mkdir()
            (folder / "wheelhouse.json").write_text('{"extras": "postgres,gpu"}')
            (folder / "SHA256SUMS").write_text("")
        return folder


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, loop_device: LoopDevice) -> Site:
    require_ansible_playbook()
    require_root("the preflight reads the data disk's signature (blkid) as root")
    return Site(tmp_path_factory.mktemp("preflight"), loop_device())


def refused(run: PlaybookRun, message: str, hosts: tuple[str, ...] = ("localhost",)) -> None:
    assert run.returncode != 0, run.output
    assert message in run.failure_messages(), run.output
    for host in hosts:
        assert run.recap(host)["changed"] == 0, run.output


def test_it_passes_a_good_inventory_without_changing_anything(site: Site) -> None:
    run = site.preflight()
    assert run.returncode == 0, run.output
    assert run.recap() == {"ok": run.recap()["ok"], "changed": 0, "unreachable": 0, "failed": 0}


def test_it_refuses_a_profile_other_than_cpu_or_gpu(site: Site) -> None:
    refused(site.preflight(appliance_profile="tpu"), "appliance_profile must be one of: cpu, gpu")


def test_it_refuses_the_gpu_profile_on_a_host_without_an_nvidia_device(site: Site) -> None:
    devices = site.workdir / "pci-intel"
    (devices / "0000:00:02.0").mkdir(parents=True, exist_ok=True)
    (devices / "0000:00:02.0" / "vendor").write_text("0x8086\n")
    run = site.preflight(appliance_profile="gpu", preflight_pci_devices_path=str(devices))
    refused(run, "appliance_profile is gpu, but localhost (group model_server) has no NVIDIA")


def test_it_accepts_the_gpu_profile_on_a_host_with_an_nvidia_device(site: Site) -> None:
    devices = site.workdir / "pci-nvidia"
    for slot, vendor in (("0000:00:02.0", "0x8086"), ("0000:41:00.0", "0x10de")):
        (devices / slot).mkdir(parents=True, exist_ok=True)
        (devices / slot / "vendor").write_text(f"{vendor}\n")
    # vLLM's model folder, with the SHA256SUMS the model_server role checks it by.
    model = site.workdir / "instruct-model"
    model.mkdir(exist_ok=True)
    (model / "config.json").write_text("{}")
    digest = hashlib.sha256(b"{}").hexdigest()
    (model / "SHA256SUMS").write_text(f"{digest}  ./config.json\n")
    llm = {"name": "llm", "source": str(model), "setting": "MODEL_SERVER_VLLM_MODEL_DIR"}
    run = site.preflight(
        appliance_profile="gpu",
        preflight_pci_devices_path=str(devices),
        model_server_models=[llm],
    )
    assert run.returncode == 0, run.output


def test_it_names_every_missing_vault_variable_and_how_to_create_the_vault(site: Site) -> None:
    inventory = site.inventory(vault=False)
    run = site.preflight(inventory)
    refused(
        run,
        "The vault lacks vault_appliance_admin_password, vault_appliance_metrics_token, "
        "vault_model_api_key, vault_postgresql_appliance_password, vault_backup_data_password, "
        "vault_backup_keys_password, vault_encrypted_storage_passphrase, "
        "vault_base_admin_password_hashes. Create it with `ansible-vault create "
        f"{inventory}/group_vars/all/vault.yml`",
    )


def test_it_refuses_a_placeholder_left_from_the_example(site: Site) -> None:
    run = site.preflight(firewall_backup_targets=["198.51.100.20"])
    refused(run, "still has the example inventory's placeholders in firewall_backup_targets:")


@pytest.mark.parametrize(
    ("inventory", "host"),
    [
        ("single-box", "notes.clinic.example"),
        ("hospital", "notes-app1.hospital.example"),
        ("cpu-box", "notes.practice.example"),
    ],
)
def test_it_refuses_each_example_inventory_as_shipped(
    site: Site, inventory: str, host: str
) -> None:
    run = run_playbook(
        PREFLIGHT,
        inventory=INVENTORIES / inventory,
        workdir=site.workdir,
        # This machine stands in for the example host; the vault is the only thing added.
        extra_vars=[LOCALHOST, VAULT, HOSPITAL_VAULT],
        args=["--limit", host],
    )
    refused(run, f"{host} still has the example inventory's placeholders in", hosts=(host,))
    assert "inventory_hostname" in run.failure_messages()


def test_it_refuses_admin_networks_without_the_controllers_address(site: Site) -> None:
    run = site.preflight(firewall_controller_address="10.99.0.5")
    refused(run, "from 10.99.0.5, which is not in firewall_admin_networks (10.20.0.48/29)")


def test_it_refuses_an_unsupported_system(site: Site) -> None:
    run = site.preflight(
        preflight_supported_systems=[{"distribution": "Ubuntu", "major_version": "24"}]
    )
    refused(run, "the appliance's roles support Ubuntu 24 only")


def test_it_refuses_several_app_hosts_on_sqlite(site: Site) -> None:
    hosts = ("localhost", "app2")
    run = site.preflight(site.inventory(hosts))
    refused(run, "2 app hosts use SQLite (localhost, app2)", hosts=hosts)


def test_it_runs_first_in_site_yml_and_stops_every_host_on_one_failure() -> None:
    site_plays = yaml.safe_load((ANSIBLE_DIR / "site.yml").read_text())
    assert site_plays[0]["ansible.builtin.import_playbook"] == "preflight.yml"
    (play,) = yaml.safe_load(PREFLIGHT.read_text())
    assert play["any_errors_fatal"] is True
    assert play["hosts"] == "all"
