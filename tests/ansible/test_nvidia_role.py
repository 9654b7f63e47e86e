"""The `nvidia` Ansible role on this machine, which has no GPU, and on a fake GPU host.

The fake GPU host is this machine with a PCI folder holding one device of NVIDIA's vendor id
(`nvidia_pci_devices_path`), a stand-in nvidia-smi printing what a real one prints for the
query the role makes (`nvidia_smi_path`), `nvidia_driver_source: none` (the driver "already
there") and `nvidia_runtime: false` (no module is loaded, no service started). What a real GPU
host adds, the driver install and nvidia-persistenced, is static only here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.ansible.playbooks import (
    PlaybookRun,
    require_ansible_playbook,
    run_playbook,
    write_localhost_inventory,
    write_role_playbook,
)

H100 = "0, NVIDIA H100 80GB HBM3, 550.54.15, 81559, Enabled"
SECOND = "1, NVIDIA H100 80GB HBM3, 550.54.15, 81559, Enabled"
NO_DRIVER = (
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
    "Make sure that the latest NVIDIA driver is installed and running."
)


@dataclass(frozen=True)
class Host:
    workdir: Path

    def fake_gpu_vars(self, *lines: str, exit_code: int = 0) -> dict[str, Any]:
        """A GPU host whose nvidia-smi prints `lines` and exits with `exit_code`."""
        smi = self.workdir / f"nvidia-smi-{abs(hash((lines, exit_code)))}"
        printed = "\n".join(lines)
        smi.write_text(f"#!/bin/sh\ncat <<'EOF'\n{printed}\nEOF\nexit {exit_code}\n")
        smi.chmod(0o755)
        return {
            "nvidia_profile": "gpu",
            "nvidia_pci_devices_path": str(self.workdir / "pci-gpu"),
            "nvidia_driver_source": "none",
            "nvidia_runtime": False,
            "nvidia_verify": True,
            "nvidia_smi_path": str(smi),
            "nvidia_modules_load_dir": str(self.workdir / "modules-load.d"),
        }

    def run(self, role_vars: dict[str, Any], playbook: str = "nvidia-playbook.yml") -> PlaybookRun:
        return run_playbook(
            self.workdir / playbook,
            inventory=self.workdir / "inventory.yml",
            workdir=self.workdir,
            extra_vars=[role_vars],
        )


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Host:
    require_ansible_playbook()
    workdir = tmp_path_factory.mktemp("nvidia")
    # Two PCI devices as the kernel lists them: a bridge (Intel) and an NVIDIA GPU.
    for name, vendor in (("0000:00:00.0", "0x8086"), ("0000:01:00.0", "0x10de")):
        device = workdir / "pci-gpu" / name
        device.mkdir(parents=True)
        (device / "vendor").write_text(f"{vendor}\n")
    (workdir / "pci-none" / "0000:00:00.0").mkdir(parents=True)
    (workdir / "pci-none" / "0000:00:00.0" / "vendor").write_text("0x8086\n")
    (workdir / "modules-load.d").mkdir()
    write_localhost_inventory(workdir, ["model_server"])
    write_role_playbook(workdir, "nvidia")
    verify = {
        "name": "Check the GPUs.",
        "hosts": "all",
        "gather_facts": False,
        "tasks": [
            {
                "name": "Run the nvidia role's verify tasks.",
                "ansible.builtin.include_role": {"name": "nvidia", "tasks_from": "verify"},
            }
        ],
    }
    (workdir / "verify.yml").write_text(json.dumps([verify]))
    return Host(workdir)


@pytest.fixture(scope="module")
def fake_gpu_run(host: Host) -> PlaybookRun:
    run = host.run(host.fake_gpu_vars(H100, SECOND))
    assert run.returncode == 0, run.output
    return run


def test_a_host_without_an_nvidia_gpu_is_skipped_with_its_message(host: Host) -> None:
    role_vars = {
        "nvidia_profile": "gpu",
        "nvidia_driver_source": "none",
        "nvidia_pci_devices_path": str(host.workdir / "pci-none"),
    }
    run = host.run(role_vars)
    assert run.returncode == 0, run.output
    assert "Skipped: localhost is not a GPU host (no NVIDIA PCI device, vendor 0x10de" in run.output
    assert run.recap()["changed"] == 0
    assert "Ensure the driver, nvidia-smi" not in run.output


def test_this_machine_under_the_cpu_profile_is_skipped_with_its_message(host: Host) -> None:
    # The real PCI tree: the profile alone decides, before any device is looked for.
    run = host.run({"nvidia_profile": "cpu"})
    assert run.returncode == 0, run.output
    assert "Skipped: localhost is not a GPU host (profile cpu)" in run.output
    assert run.recap()["changed"] == 0


def test_a_gpu_host_is_checked_with_nvidia_smi_and_its_gpus_listed(
    host: Host, fake_gpu_run: PlaybookRun
) -> None:
    assert "Skipped:" not in fake_gpu_run.output
    assert "0 | NVIDIA H100 80GB HBM3 | 550.54.15 | 81559 | Enabled" in fake_gpu_run.output
    assert "1 | NVIDIA H100 80GB HBM3" in fake_gpu_run.output
    # nvidia_driver_source none: the driver is there already, no package is installed.
    assert re.search(
        r"TASK \[nvidia : Ensure the driver, nvidia-smi and nvidia-persistenced are installed"
        r"[^\n]*\n(\S.*\n)*?skipping: \[localhost\]",
        fake_gpu_run.output,
    ), fake_gpu_run.output
    modules = (host.workdir / "modules-load.d" / "nvidia-appliance.conf").read_text()
    assert [line for line in modules.splitlines() if not line.startswith("#")] == [
        "nvidia",
        "nvidia-uvm",
    ]


@pytest.mark.usefixtures("fake_gpu_run")
def test_a_second_run_on_a_gpu_host_changes_nothing(host: Host) -> None:
    again = host.run(host.fake_gpu_vars(H100, SECOND))
    assert again.returncode == 0, again.output
    assert again.recap()["changed"] == 0, again.output


def test_verify_alone_passes_on_the_gpu_host_and_changes_nothing(host: Host) -> None:
    run = host.run(host.fake_gpu_vars(H100), playbook="verify.yml")
    assert run.returncode == 0, run.output
    assert run.recap()["changed"] == 0
    assert "0 | NVIDIA H100 80GB HBM3 | 550.54.15" in run.output


def test_a_missing_nvidia_smi_fails_with_a_clear_message(host: Host) -> None:
    role_vars = {**host.fake_gpu_vars(H100), "nvidia_smi_path": str(host.workdir / "absent")}
    run = host.run(role_vars, playbook="verify.yml")
    assert run.returncode != 0, run.output
    assert f"nvidia-smi is not at {host.workdir / 'absent'} on localhost" in run.failure_messages()


def test_a_driver_nvidia_smi_cannot_reach_asks_for_a_reboot_and_unlock(host: Host) -> None:
    run = host.run(host.fake_gpu_vars(NO_DRIVER, exit_code=9), playbook="verify.yml")
    assert run.returncode != 0, run.output
    message = run.failure_messages()
    assert "nvidia-smi failed on localhost (exit 9)" in message, run.output
    assert "couldn't communicate with the NVIDIA driver" in message
    assert "reboot the host yourself, run unlock.yml" in message


def test_an_old_driver_and_persistence_off_are_refused(host: Host) -> None:
    run = host.run(host.fake_gpu_vars("0, Tesla T4, 470.256.02, 15360, Disabled"), "verify.yml")
    assert run.returncode != 0, run.output
    message = run.failure_messages()
    assert "Driver 470.256.02 is older than 535" in message, run.output
    assert "Persistence mode is off on GPU 0" in message


def test_debian_driver_without_non_free_sources_is_refused_before_any_change(host: Host) -> None:
    role_vars = {
        **host.fake_gpu_vars(H100),
        "nvidia_driver_source": "debian",
        "base_apt_components": ["main", "contrib"],
    }
    run = host.run(role_vars)
    assert run.returncode != 0, run.output
    message = run.failure_messages()
    assert "the apt sources lack non-free, non-free-firmware" in message, run.output
    assert run.recap()["changed"] == 0
