"""The `nvidia` Ansible role on this machine, which has no GPU, and on fake GPU hosts.

A fake GPU host is this machine with a PCI folder holding one device of NVIDIA's vendor id
(`nvidia_pci_devices_path`), a stand-in nvidia-smi printing what a real one prints for the
query the role makes (`nvidia_smi_path`), `nvidia_driver_source: none` (the driver "already
there") and `nvidia_runtime: false` (no module is loaded, no service started). What a real GPU
host adds, the driver install and nvidia-persistenced, is static only here.

Every case is a host of one inventory (each this machine, with its own variables and folders),
so one playbook run plays them all: the role on the `role_cases` hosts, then the role's verify
tasks alone on the `verify_cases` hosts. Each host's recap and messages prove its case; a
second run on the GPU host proves `changed=0`.
"""

from __future__ import annotations

import json
import re
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
    write_role_playbook,
)

# Each runs the role for real on this machine: `make test-roles`, never `make test`.
pytestmark = pytest.mark.roles

H100 = "0, NVIDIA H100 80GB HBM3, 550.54.15, 81559, Enabled"
SECOND = "1, NVIDIA H100 80GB HBM3, 550.54.15, 81559, Enabled"
NO_DRIVER = (
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
    "Make sure that the latest NVIDIA driver is installed and running."
)
INSTALL_TASK = "Ensure the driver, nvidia-smi and nvidia-persistenced are installed"


@dataclass(frozen=True)
class Host:
    workdir: Path

    def fake_gpu_vars(self, name: str, *lines: str, exit_code: int = 0) -> dict[str, Any]:
        """The host `name` as a GPU host whose nvidia-smi prints `lines`, exits `exit_code`."""
        smi = self.workdir / f"nvidia-smi-{name}"
        printed = "\n".join(lines)
        smi.write_text(f"#!/bin/sh\ncat <<'EOF'\n{printed}\nEOF\nexit {exit_code}\n")
        smi.chmod(0o755)
        modules_load = self.workdir / "modules-load.d" / name
        modules_load.mkdir(parents=True, exist_ok=True)
        return {
            "nvidia_profile": "gpu",
            "nvidia_pci_devices_path": str(self.workdir / "pci-gpu"),
            "nvidia_driver_source": "none",
            "nvidia_runtime": False,
            "nvidia_verify": True,
            "nvidia_smi_path": str(smi),
            "nvidia_modules_load_dir": str(modules_load),
        }

    def run(self, playbook: str, *args: str) -> PlaybookRun:
        return run_playbook(
            self.workdir / playbook,
            inventory=self.workdir / "inventory.yml",
            workdir=self.workdir,
            args=["--forks", "8", *args],
        )


def _write_inventory(host: Host, cases: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> None:
    """Every case a host of its own (this machine), in its group and in model_server."""
    names = [name for group in cases.values() for name in group]
    hosts = {
        name: {**LOCALHOST, **found} for group in cases.values() for name, found in group.items()
    }
    children = {group: {"hosts": dict.fromkeys(members)} for group, members in cases.items()}
    children["model_server"] = {"hosts": dict.fromkeys(names)}
    inventory = {"all": {"hosts": hosts, "children": children}}
    (host.workdir / "inventory.yml").write_text(json.dumps(inventory))


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
    host = Host(workdir)
    _write_inventory(
        host,
        {
            "role_cases": {
                "gpu": host.fake_gpu_vars("gpu", H100, SECOND),
                "no_gpu": {
                    "nvidia_profile": "gpu",
                    "nvidia_driver_source": "none",
                    "nvidia_pci_devices_path": str(workdir / "pci-none"),
                },
                # The real PCI tree: the profile alone decides, before any device is looked for.
                "cpu": {"nvidia_profile": "cpu"},
                "debian_without_non_free": {
                    **host.fake_gpu_vars("debian_without_non_free", H100),
                    "nvidia_driver_source": "debian",
                    "base_apt_components": ["main", "contrib"],
                },
            },
            "verify_cases": {
                "verify_alone": host.fake_gpu_vars("verify_alone", H100),
                "missing_smi": {
                    **host.fake_gpu_vars("missing_smi", H100),
                    "nvidia_smi_path": str(workdir / "absent"),
                },
                "no_driver": host.fake_gpu_vars("no_driver", NO_DRIVER, exit_code=9),
                "old_driver": host.fake_gpu_vars(
                    "old_driver", "0, Tesla T4, 470.256.02, 15360, Disabled"
                ),
            },
        },
    )
    write_role_playbook(workdir, "nvidia")
    plays = [
        {"name": "Apply the nvidia role.", "hosts": "role_cases", "gather_facts": False,
         "roles": ["nvidia"]},
        {"name": "Check the GPUs.", "hosts": "verify_cases", "gather_facts": False,
         "tasks": [{"name": "Run the nvidia role's verify tasks.",
                    "ansible.builtin.include_role": {"name": "nvidia", "tasks_from": "verify"}}]},
    ]  # fmt: skip
    (workdir / "cases.yml").write_text(json.dumps(plays))
    return host


@pytest.fixture(scope="module")
def cases(host: Host) -> PlaybookRun:
    """One run of every case; some fail (on purpose), so the run as a whole does."""
    run = host.run("cases.yml")
    assert run.returncode != 0, run.output
    return run


def test_a_host_without_an_nvidia_gpu_is_skipped_with_its_message(cases: PlaybookRun) -> None:
    assert cases.recap("no_gpu")["failed"] == 0, cases.output
    assert cases.recap("no_gpu")["changed"] == 0
    ours = cases.host_output("no_gpu")
    assert "Skipped: no_gpu is not a GPU host (no NVIDIA PCI device, vendor 0x10de" in ours
    assert INSTALL_TASK not in ours


def test_this_machine_under_the_cpu_profile_is_skipped_with_its_message(
    cases: PlaybookRun,
) -> None:
    assert cases.recap("cpu")["failed"] == 0, cases.output
    assert cases.recap("cpu")["changed"] == 0
    assert "Skipped: cpu is not a GPU host (profile cpu)" in cases.host_output("cpu")


def test_a_gpu_host_is_checked_with_nvidia_smi_and_its_gpus_listed(
    host: Host, cases: PlaybookRun
) -> None:
    assert cases.recap("gpu")["failed"] == 0, cases.output
    ours = cases.host_output("gpu")
    assert "Skipped:" not in ours
    assert "0 | NVIDIA H100 80GB HBM3 | 550.54.15 | 81559 | Enabled" in ours
    assert "1 | NVIDIA H100 80GB HBM3" in ours
    # nvidia_driver_source none: the driver is there already, no package is installed.
    assert re.search(rf"TASK \[nvidia : {INSTALL_TASK}[^\n]*\nskipping: \[gpu\]", ours), ours
    modules = (host.workdir / "modules-load.d" / "gpu" / "nvidia-appliance.conf").read_text()
    assert [line for line in modules.splitlines() if not line.startswith("#")] == [
        "nvidia",
        "nvidia-uvm",
    ]


def test_a_second_run_on_a_gpu_host_changes_nothing(host: Host, cases: PlaybookRun) -> None:
    assert cases.recap("gpu")["changed"] > 0  # the first run wrote the module list
    again = host.run("nvidia-playbook.yml", "--limit", "gpu")
    assert again.returncode == 0, again.output
    assert again.recap("gpu")["changed"] == 0, again.output


def test_verify_alone_passes_on_the_gpu_host_and_changes_nothing(cases: PlaybookRun) -> None:
    recap = cases.recap("verify_alone")
    assert recap["failed"] == 0, cases.output
    assert recap["changed"] == 0
    assert "0 | NVIDIA H100 80GB HBM3 | 550.54.15" in cases.host_output("verify_alone")


def test_a_missing_nvidia_smi_fails_with_a_clear_message(host: Host, cases: PlaybookRun) -> None:
    assert cases.recap("missing_smi")["failed"] == 1, cases.output
    assert (
        f"nvidia-smi is not at {host.workdir / 'absent'} on missing_smi"
        in cases.failure_messages("missing_smi")
    )


def test_a_driver_nvidia_smi_cannot_reach_asks_for_a_reboot_and_unlock(cases: PlaybookRun) -> None:
    assert cases.recap("no_driver")["failed"] == 1, cases.output
    message = cases.failure_messages("no_driver")
    assert "nvidia-smi failed on no_driver (exit 9)" in message, cases.output
    assert "couldn't communicate with the NVIDIA driver" in message
    assert "reboot the host yourself, run unlock.yml" in message


def test_an_old_driver_and_persistence_off_are_refused(cases: PlaybookRun) -> None:
    assert cases.recap("old_driver")["failed"] == 1, cases.output
    message = cases.failure_messages("old_driver")
    assert "Driver 470.256.02 is older than 535" in message, cases.output
    assert "Persistence mode is off on GPU 0" in message


def test_debian_driver_without_non_free_sources_is_refused_before_any_change(
    host: Host, cases: PlaybookRun
) -> None:
    recap = cases.recap("debian_without_non_free")
    assert recap["failed"] == 1, cases.output
    assert recap["changed"] == 0
    message = cases.failure_messages("debian_without_non_free")
    assert "the apt sources lack non-free, non-free-firmware" in message, cases.output
    assert not any((host.workdir / "modules-load.d" / "debian_without_non_free").iterdir())
