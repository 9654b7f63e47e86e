"""The `base` role, run for real on this machine inside a mount namespace.

The role rewrites /etc (SSH, sudo, apt, accounts), so it runs with /etc, /home and /var/log
overlaid by folders of the test (and a fresh /run): everything it writes lands there and the
machine itself is untouched. `base_runtime: false` keeps it from starting or reloading services
and from applying sysctl values to the running kernel. The packages it would install
(openssh-server, sudo, chrony, auditd) are installed on this machine by `make test`, so that
`sshd -t`, `visudo -c` and the configuration folders are the real ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ansible.overlay import Overlay
from tests.ansible.playbooks import (
    PlaybookRun,
    require_ansible_playbook,
    run_playbook,
    write_localhost_inventory,
    write_role_playbook,
)
from tests.tools import require_root, require_tool

# Each runs the role for real on this machine: `make test-roles`, never `make test`.
pytestmark = pytest.mark.roles

OVERLAID = ("/etc", "/home", "/var/log")
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJv9dU2bE3mB1pXxQyWzLq0sT7kR4nA8cF6hG2jY5oPe"
OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFq3mT8yR2kW6vN1cB4xJ9pL0sD7hG5fA2eZ8uQ1oYiK"
# Shaped like `mkpasswd -m yescrypt` output; nothing ever authenticates against it.
HASH = "$y$j9T$0RGQZ8s1l6rQ6gS8yUeqr/$3Vq0pJkS0m2tHq3Lr2m9b3Q8JqW0K7bH9t1y5aNoC0."
BASE_VARS = {
    "base_runtime": False,
    "base_packages": [],
    "base_apt_mirror": "http://mirror.clinic.lan/debian",
    "base_apt_security_mirror": "http://mirror.clinic.lan/debian-security",
    "base_ntp_servers": ["10.20.0.123"],
    "base_admin_users": [{"name": "alice", "ssh_keys": [f"{KEY} alice"], "password_hash": HASH}],
    "base_log_reader_users": [{"name": "carol", "ssh_keys": [f"{OTHER_KEY} carol"]}],
}


@dataclass(frozen=True)
class Role:
    workdir: Path
    overlay: Overlay

    def run(self, **overrides: object) -> PlaybookRun:
        return run_playbook(
            self.workdir / "base-playbook.yml",
            inventory=self.workdir / "inventory.yml",
            workdir=self.workdir,
            extra_vars=[BASE_VARS, overrides],
            wrapper=self.overlay.wrapper(),
        )


@pytest.fixture(scope="module")
def role(tmp_path_factory: pytest.TempPathFactory) -> Role:
    require_ansible_playbook()
    require_root("the role runs in a mount namespace over /etc")
    for program, why in (
        ("sshd", "the role checks its SSH configuration with sshd -t"),
        ("visudo", "the role checks its sudoers file with visudo -c"),
        ("chronyd", "the role configures chrony"),
        ("auditctl", "the role installs auditd rules"),
    ):
        require_tool(program, why)
    workdir = tmp_path_factory.mktemp("base")
    write_role_playbook(workdir, "base", gather_facts=True)
    write_localhost_inventory(workdir)
    overlay = Overlay(
        workdir / "overlay",
        require_tool("unshare", "the test overlays /etc"),
        OVERLAID,
        # sshd -t wants its privilege separation folder, which only a running sshd makes.
        then=("mkdir /run/sshd",),
    )
    # An installer's swap line, which the role must turn off.
    fstab = overlay.root / "upper" / "etc" / "fstab"
    fstab.parent.mkdir(parents=True)
    fstab.write_text("UUID=0a1b2c3d / ext4 errors=remount-ro 0 1\nUUID=4e5f none swap sw 0 0\n")
    return Role(workdir, overlay)


@pytest.fixture(scope="module")
def first_run(role: Role) -> PlaybookRun:
    run = role.run()
    assert run.returncode == 0, run.output
    return run


def _effective_sshd(role: Role) -> dict[str, str]:
    printed = role.overlay.run("/usr/sbin/sshd", "-T", "-f", "/etc/ssh/sshd_config").stdout
    return dict(line.split(" ", 1) for line in printed.splitlines() if " " in line)


@pytest.mark.usefixtures("first_run")
def test_it_leaves_this_machine_untouched(role: Role) -> None:
    assert not Path("/etc/ssh/sshd_config.d/00-appliance.conf").exists()
    assert (role.overlay.root / "upper/etc/ssh/sshd_config.d/00-appliance.conf").exists()


@pytest.mark.usefixtures("first_run")
def test_it_admits_keys_of_the_ssh_group_only_and_never_root(role: Role) -> None:
    sshd = _effective_sshd(role)
    assert sshd["permitrootlogin"] == "no"
    assert sshd["passwordauthentication"] == "no"
    assert sshd["kbdinteractiveauthentication"] == "no"
    assert sshd["authenticationmethods"] == "publickey"
    assert sshd["allowgroups"] == "appliance-ssh"
    # Debian's own sshd_config says yes: the role's file has to win.
    assert sshd["x11forwarding"] == "no"
    assert sshd["allowtcpforwarding"] == "no"
    assert sshd["loglevel"] == "VERBOSE"


@pytest.mark.usefixtures("first_run")
def test_it_gives_admins_sudo_and_log_readers_logs_only(role: Role) -> None:
    assert set(role.overlay.run("id", "-nG", "alice").stdout.split()) >= {
        "appliance-admins",
        "appliance-ssh",
    }
    carol = set(role.overlay.run("id", "-nG", "carol").stdout.split())
    assert carol >= {"appliance-log-readers", "appliance-ssh", "adm", "systemd-journal"}
    assert "appliance-admins" not in carol
    assert "(ALL : ALL) ALL" in role.overlay.run("sudo", "--list", "--other-user", "alice").stdout
    assert "not allowed" in role.overlay.run("sudo", "--list", "--other-user", "carol").stdout
    assert role.overlay.read("/etc/shadow").count(f"alice:{HASH}:") == 1


@pytest.mark.usefixtures("first_run")
def test_it_installs_exactly_the_listed_keys(role: Role) -> None:
    keys = role.overlay.read("/home/alice/.ssh/authorized_keys")
    assert [line for line in keys.splitlines() if line.strip()] == [f"{KEY} alice"]


@pytest.mark.usefixtures("first_run")
def test_it_takes_packages_and_security_updates_from_the_clinic_mirror_only(role: Role) -> None:
    sources = role.overlay.read("/etc/apt/sources.list.d/debian.sources")
    assert re.findall(r"^URIs: (.*)$", sources, re.M) == [
        "http://mirror.clinic.lan/debian",
        "http://mirror.clinic.lan/debian-security",
    ]
    assert "deb " not in role.overlay.read("/etc/apt/sources.list")
    upgrades = role.overlay.read("/etc/apt/apt.conf.d/52appliance-unattended-upgrades")
    assert "label=Debian-Security" in upgrades
    assert 'Automatic-Reboot "false"' in upgrades


@pytest.mark.usefixtures("first_run")
def test_it_turns_swap_and_core_dumps_off(role: Role) -> None:
    fstab = role.overlay.read("/etc/fstab")
    assert re.search(r"^# UUID=4e5f none swap sw 0 0", fstab, re.M), fstab
    assert "UUID=0a1b2c3d / ext4" in fstab
    sysctl = role.overlay.read("/etc/sysctl.d/60-appliance.conf")
    assert "fs.suid_dumpable = 0\n" in sysctl
    assert "kernel.core_pattern = |/bin/false\n" in sysctl
    assert "hard    core    0" in role.overlay.read(
        "/etc/security/limits.d/60-appliance-no-core.conf"
    )
    assert "DefaultLimitCORE=0" in role.overlay.read(
        "/etc/systemd/system.conf.d/60-appliance-no-core.conf"
    )


@pytest.mark.usefixtures("first_run")
def test_it_points_chrony_at_the_clinic_time_servers_only(role: Role) -> None:
    chrony = role.overlay.read("/etc/chrony/chrony.conf")
    assert re.findall(r"^(?:server|pool) (\S+)", chrony, re.M) == ["10.20.0.123"]


@pytest.mark.usefixtures("first_run")
def test_it_changes_nothing_on_a_second_run(role: Role) -> None:
    second = role.run()
    assert second.returncode == 0, second.output
    assert second.recap()["changed"] == 0, second.output


@pytest.mark.usefixtures("first_run")
def test_it_removes_a_key_added_by_hand(role: Role) -> None:
    role.overlay.run("sh", "-c", f"echo '{OTHER_KEY} stray' >> /home/alice/.ssh/authorized_keys")
    run = role.run()
    assert run.returncode == 0, run.output
    assert "stray" not in role.overlay.read("/home/alice/.ssh/authorized_keys")


def test_it_refuses_an_admin_without_a_password_for_sudo(role: Role) -> None:
    admins = [{"name": "alice", "ssh_keys": [f"{KEY} alice"]}]
    run = role.run(base_admin_users=admins)
    assert run.returncode != 0
    assert "Admin alice has no password_hash" in run.failure_messages()
    assert run.recap()["changed"] == 0


def test_it_refuses_an_inventory_without_admins(role: Role) -> None:
    run = role.run(base_admin_users=[])
    assert run.returncode != 0
    assert "base_admin_users needs at least one admin" in run.failure_messages()
    assert run.recap()["changed"] == 0
