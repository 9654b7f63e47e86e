"""What every converged clinic shares: the admin who signs in, the vault's secrets, the
addresses that replace the example inventories' placeholders, every role told it runs in a
tree, and the wheelhouse the hosts install from."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

APP_BIN = "/opt/appliance/venv/bin/appliance"
APP_ENV = (
    "env",
    "APPLIANCE_DATA_DIR=/var/lib/appliance",
    "APPLIANCE_KEYS_DIR=/var/lib/appliance/keys",
)
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJv9dU2bE3mB1pXxQyWzLq0sT7kR4nA8cF6hG2jY5oPe"
ADMIN_PASSWORD = "quiet-harbour-lantern-47"
# yescrypt of ADMIN_PASSWORD; nobody signs in to the tree.
ADMIN_HASH = "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$IuWfuqkYVRxdIWkbolTKXf/BlDK7272MvWRZHFImip."
VAULT: dict[str, Any] = {
    "vault_appliance_admin_password": ADMIN_PASSWORD,
    "vault_appliance_metrics_token": "4f1c9a7e2b6d8053e1a9c4b7f0d2e6a8",
    "vault_model_api_key": "9b3e7d1f5a2c8e4b6d0f3a7c1e5b9d2f",
    "vault_backup_data_password": "a long password for the data backups",
    "vault_backup_keys_password": "another long password, for the keys",
    "vault_encrypted_storage_passphrase": "a long passphrase kept in the vault",
    "vault_base_admin_password_hashes": {"alice": ADMIN_HASH},
}


def admin(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "ssh_keys": [f"{KEY} {name}@laptop"],
        "password_hash": f"{{{{ vault_base_admin_password_hashes.{name} }}}}",
    }


def tree_values(wheelhouse: Path) -> dict[str, Any]:
    """The placeholders every example inventory shares, replaced; and every role told it is in
    a tree: files, packages, accounts and enabled units, but no daemon started, no firewall
    loaded, no volume opened, no sysctl applied."""
    return {
        "base_apt_mirror": os.environ.get(
            "APPLIANCE_DEBIAN_MIRROR", "http://deb.debian.org/debian"
        ),
        "base_apt_security_mirror": "http://deb.debian.org/debian-security",
        "base_ntp_servers": ["10.20.0.123"],
        "base_admin_users": [admin("alice")],
        "firewall_admin_networks": ["10.20.0.48/29"],
        "firewall_controller_address": "10.20.0.50",
        "firewall_dns_servers": ["10.20.0.53"],
        "firewall_mirror_hosts": ["10.20.0.80"],
        "firewall_backup_targets": ["10.30.0.20"],
        "firewall_smtp_relays": ["10.20.0.25"],
        "monitoring_smtp_relay": "10.20.0.25:587",
        # No device-mapper on the build machines: LUKS is tested on loop devices
        # (tests/ansible/test_encrypted_storage_role.py); here the data folder is a bind mount.
        "encrypted_storage_volumes": [],
        "appliance_wheelhouse": str(wheelhouse),
        "model_server_wheelhouse": str(wheelhouse),
        "base_runtime": False,
        "firewall_runtime": False,
        "encrypted_storage_runtime": False,
        "appliance_runtime": False,
        "monitoring_runtime": False,
        "reverse_proxy_runtime": False,
        "model_server_runtime": False,
        "backup_runtime": False,
        "backup_data_repository": "/srv/backup/appliance-data",
        "backup_keys_repository": "/srv/backup/appliance-keys",
    }


def build_wheelhouse(source: Path, folder: Path) -> Path:
    subprocess.run(
        [str(source / "scripts" / "build-wheelhouse.sh"), "--out", str(folder)],
        check=True,
        capture_output=True,
        timeout=1800,
    )
    return folder
