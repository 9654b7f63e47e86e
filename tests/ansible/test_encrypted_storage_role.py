"""The `encrypted_storage` role, formatting real LUKS2 headers on loop devices.

The build machines have loop devices but no device-mapper, so a LUKS container can be
formatted and inspected but not opened: the role runs with `encrypted_storage_runtime: false`
(and would refuse to run without it, which one test shows where device-mapper is missing).
Every header is read back with cryptsetup itself, not through the role.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ansible.disks import LoopDevice
from tests.ansible.playbooks import (
    PlaybookRun,
    require_ansible_playbook,
    run_playbook,
    write_localhost_inventory,
    write_role_playbook,
)
from tests.tools import require_root, require_tool

PASSPHRASE = "lantern quiet harbour seventy-three"


@dataclass(frozen=True)
class Tools:
    cryptsetup: str
    blkid: str

    def luks_dump(self, device: Path) -> str:
        return subprocess.run(
            [self.cryptsetup, "luksDump", str(device)], capture_output=True, text=True, check=True
        ).stdout

    def signature(self, device: Path) -> str:
        probed = subprocess.run(
            [self.blkid, "--probe", "--output", "export", str(device)],
            capture_output=True,
            text=True,
            check=False,
        )
        found = re.search(r"^TYPE=(.*)$", probed.stdout, re.M)
        return found[1] if found else ""


@dataclass(frozen=True)
class Role:
    workdir: Path
    playbook: Path
    inventory: Path

    def run(
        self, device: Path, *args: str, wrapper: Sequence[str] = (), **overrides: object
    ) -> PlaybookRun:
        role_vars = {
            "encrypted_storage_runtime": False,
            "encrypted_storage_packages": [],
            # Loop devices have no /dev/disk/by-id/ name.
            "encrypted_storage_device_prefixes": ["/dev/loop"],
            "encrypted_storage_passphrase": PASSPHRASE,
            # Formatting and every passphrase check cost this much argon2id time.
            "encrypted_storage_pbkdf_iteration_time": 0.1,
            "encrypted_storage_volumes": [
                {
                    "name": f"phi-test-{device.name}",
                    "device": str(device),
                    "mount_point": str(self.workdir / "mnt"),
                    "units": ["appliance.service"],
                }
            ],
        }
        return run_playbook(
            self.playbook,
            inventory=self.inventory,
            workdir=self.workdir,
            extra_vars=[role_vars, overrides],
            args=args,
            wrapper=wrapper,
        )


@pytest.fixture(scope="module")
def tools() -> Tools:
    require_root("loop devices and cryptsetup on them need root")
    return Tools(
        cryptsetup=require_tool("cryptsetup", "the role formats LUKS2 headers"),
        blkid=require_tool("blkid", "the role reads a device's signatures"),
    )


@pytest.fixture(scope="module")
def role(tmp_path_factory: pytest.TempPathFactory, tools: Tools) -> Role:
    require_ansible_playbook()
    workdir = tmp_path_factory.mktemp("encrypted-storage")
    return Role(
        workdir,
        write_role_playbook(workdir, "encrypted_storage"),
        write_localhost_inventory(workdir),
    )


@pytest.fixture(scope="module")
def formatted(role: Role, loop_device: LoopDevice) -> tuple[Path, PlaybookRun]:
    device = loop_device()
    # -vvv prints every task's arguments and results: a passphrase that slipped past no_log
    # (or onto a command line) would show.
    run = role.run(device, "-vvv")
    assert run.returncode == 0, run.output
    return device, run


def _kernel_without_device_mapper(workdir: Path) -> list[str]:
    """A wrapper that runs the playbook as if on a kernel without device-mapper, whatever this
    machine's kernel has: in a private mount namespace, /proc/misc lists no device-mapper, and
    the modprobe first on PATH finds no dm_mod. The role's own checks run unchanged."""
    fake = workdir / "no-device-mapper"
    (fake / "bin").mkdir(parents=True, exist_ok=True)
    (fake / "misc").write_text(" 63 vga_arbiter\n183 hw_random\n")
    modprobe = fake / "bin" / "modprobe"
    modprobe.write_text("#!/bin/sh\nexit 1\n")
    modprobe.chmod(0o755)
    script = f'mount --bind {fake / "misc"} /proc/misc && PATH={fake / "bin"}:$PATH exec "$@"'
    unshare = require_tool("unshare", "the test hides device-mapper in a mount namespace")
    return [unshare, "--mount", "--propagation", "private", "sh", "-c", script, "sh"]


def test_it_formats_luks2_with_aes_xts_a_512_bit_key_and_argon2id(
    formatted: tuple[Path, PlaybookRun], tools: Tools
) -> None:
    device, run = formatted
    assert run.recap()["changed"] == 1
    header = tools.luks_dump(device)
    assert re.search(r"^Version:\s+2$", header, re.M), header
    assert re.search(r"^\s+cipher:\s+aes-xts-plain64$", header, re.M), header
    assert re.search(r"^\s+Cipher key:\s+512 bits$", header, re.M), header
    assert re.search(r"^\s+PBKDF:\s+argon2id$", header, re.M), header


def test_it_keeps_the_vaulted_passphrase_in_a_key_slot(
    formatted: tuple[Path, PlaybookRun], tools: Tools
) -> None:
    device, _ = formatted
    tried = subprocess.run(
        [tools.cryptsetup, "luksOpen", "--test-passphrase", "--key-file=-", str(device)],
        input=PASSPHRASE.encode(),
        capture_output=True,
        check=False,
    )
    assert tried.returncode == 0, tried.stderr


def test_it_changes_nothing_on_a_second_run(
    role: Role, formatted: tuple[Path, PlaybookRun], tools: Tools
) -> None:
    device, _ = formatted
    header = tools.luks_dump(device)
    second = role.run(device)
    assert second.returncode == 0, second.output
    assert second.recap()["changed"] == 0, second.output
    assert tools.luks_dump(device) == header


def test_it_refuses_a_passphrase_that_opens_no_key_slot(
    role: Role, formatted: tuple[Path, PlaybookRun], tools: Tools
) -> None:
    device, _ = formatted
    header = tools.luks_dump(device)
    run = role.run(device, encrypted_storage_passphrase="not the vaulted passphrase at all")
    assert run.returncode != 0
    assert "passphrase opens no key slot" in run.failure_messages()
    assert run.recap()["changed"] == 0
    assert tools.luks_dump(device) == header


def test_it_keeps_the_passphrase_out_of_the_output(formatted: tuple[Path, PlaybookRun]) -> None:
    _, run = formatted
    assert "Try the vaulted passphrase against the key slots." in run.output
    assert PASSPHRASE not in run.output


def test_it_refuses_a_device_that_holds_a_filesystem(
    role: Role, loop_device: LoopDevice, tools: Tools
) -> None:
    device = loop_device(ext4=True)
    run = role.run(device)
    assert run.returncode != 0
    assert f"{device} " in run.failure_messages()
    assert "blkid finds TYPE=ext4 on it" in run.failure_messages()
    assert run.recap()["changed"] == 0
    assert tools.signature(device) == "ext4"


def test_it_formats_a_device_that_holds_a_filesystem_when_forced(
    role: Role, loop_device: LoopDevice, tools: Tools
) -> None:
    device = loop_device(ext4=True)
    run = role.run(device, encrypted_storage_force_format=True)
    assert run.returncode == 0, run.output
    assert tools.signature(device) == "crypto_LUKS"


def test_it_refuses_a_device_name_that_can_change_between_boots(
    role: Role, loop_device: LoopDevice, tools: Tools
) -> None:
    device = loop_device()
    run = role.run(device, encrypted_storage_device_prefixes=["/dev/disk/by-id/"])
    assert run.returncode != 0
    assert f"{device}: name devices by a path starting with /dev/disk/by-id/" in (
        run.failure_messages()
    )
    assert tools.signature(device) == ""


def test_it_leaves_the_volume_closed_and_the_boot_files_alone_without_runtime(
    role: Role, formatted: tuple[Path, PlaybookRun]
) -> None:
    device, run = formatted
    assert "encrypted_storage_runtime is false" in run.output
    assert not Path(f"/dev/mapper/phi-test-{device.name}").exists()
    assert not (role.workdir / "mnt").exists()
    crypttab = Path("/etc/crypttab")
    assert not crypttab.exists() or f"phi-test-{device.name}" not in crypttab.read_text()


def test_it_stops_before_formatting_where_device_mapper_is_missing(
    role: Role, loop_device: LoopDevice, tools: Tools
) -> None:
    device = loop_device()
    run = role.run(
        device,
        encrypted_storage_runtime=True,
        wrapper=_kernel_without_device_mapper(role.workdir),
    )
    assert run.returncode != 0
    assert "has no device-mapper (neither in /proc/misc nor as a module)" in (
        run.failure_messages()
    )
    assert run.recap()["changed"] == 0
    assert tools.signature(device) == ""
