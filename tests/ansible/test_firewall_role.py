"""The `firewall` role's nftables ruleset, loaded for real in network namespaces.

The role renders and checks the ruleset here with `firewall_runtime: false` (loading it would
firewall this machine). The test then wires three namespaces, `box` (the appliance), `clinic`
and `outside`, with veth pairs, loads the rendered file inside `box` only, and connects through
it. A refused connection alone proves little (a missing route refuses too), so every refusal
is also read off the ruleset's reject counters, and every namespace is shown to be reachable
before the ruleset goes in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ansible.playbooks import (
    PlaybookRun,
    require_ansible_playbook,
    run_playbook,
    write_localhost_inventory,
    write_role_playbook,
)
from tests.tools import require_root, require_tool

BOX_CLINIC, CLINIC = "10.77.1.1", "10.77.1.2"  # the clinic workstation is not an admin
ADMIN = "10.77.1.3"  # a second address of the clinic namespace, the one admin network
BOX_OUTSIDE, OUTSIDE = "10.77.2.1", "10.77.2.2"  # OUTSIDE also serves DNS to the box
# A table name of its own, so that nothing here can be mistaken for a real firewall.
TABLE = f"appliance_test_{os.getpid()}"

_LISTEN = """
import select, socket, sys
listeners = []
for port in sys.argv[2:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(port)))
    s.listen()
    listeners.append(s)
print("ready", flush=True)
while True:
    for s in select.select(listeners, [], [])[0]:
        s.accept()[0].close()
"""
_CONNECT = """
import socket, sys
s = socket.socket()
s.settimeout(3)
s.bind((sys.argv[1], 0))
try:
    s.connect((sys.argv[2], int(sys.argv[3])))
    print("connected")
except ConnectionRefusedError:
    print("refused")
except TimeoutError:
    print("timeout")
except OSError as error:
    print(error.strerror)
"""


def firewall_vars(workdir: Path) -> dict[str, object]:
    return {
        "firewall_runtime": False,
        # This machine's own boot is not the test's to change.
        "firewall_enable_at_boot": False,
        "firewall_packages": [],
        "firewall_config_path": str(workdir / "nftables.conf"),
        "firewall_table": TABLE,
        "firewall_clinic_networks": ["10.77.1.0/24"],
        "firewall_admin_networks": [f"{ADMIN}/32"],
        "firewall_dns_servers": [OUTSIDE],
        "firewall_ntp_servers": [],
        "firewall_ingress_services": [
            {"name": "postgresql", "port": 5432, "protocol": "tcp", "sources": ["10.77.9.9"]}
        ],
        "firewall_log_rejected_per_minute": 0,
    }


@dataclass(frozen=True)
class Role:
    workdir: Path
    playbook: Path
    inventory: Path
    nft: str

    def run(self, **overrides: object) -> PlaybookRun:
        return run_playbook(
            self.playbook,
            inventory=self.inventory,
            workdir=self.workdir,
            extra_vars=[firewall_vars(self.workdir), overrides],
        )

    @property
    def ruleset(self) -> Path:
        return self.workdir / "nftables.conf"


@dataclass(frozen=True)
class Namespaces:
    prefix: str
    ip: str
    nft: str

    def name(self, which: str) -> str:
        return f"{self.prefix}-{which}"

    def run(self, which: str, *command: str) -> str:
        done = subprocess.run(
            [self.ip, "netns", "exec", self.name(which), *command],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout.strip()

    def connect(self, which: str, source: str, address: str, port: int) -> str:
        return self.run(which, sys.executable, "-c", _CONNECT, source, address, str(port))

    def rejected(self, counter: str) -> int:
        listed = self.run("box", self.nft, "--json", "list", "counter", "inet", TABLE, counter)
        entries = json.loads(listed)["nftables"]
        return next(e["counter"]["packets"] for e in entries if "counter" in e)


@pytest.fixture(scope="module")
def role(tmp_path_factory: pytest.TempPathFactory) -> Role:
    require_ansible_playbook()
    nft = require_tool("nft", "the role checks its ruleset with nft --check")
    require_root("nft --check and network namespaces need CAP_NET_ADMIN")
    workdir = tmp_path_factory.mktemp("firewall")
    return Role(
        workdir,
        write_role_playbook(workdir, "firewall"),
        write_localhost_inventory(workdir),
        nft,
    )


@pytest.fixture(scope="module")
def first_run(role: Role) -> PlaybookRun:
    run = role.run()
    assert run.returncode == 0, run.output
    return run


def _wire(ns: Namespaces) -> None:
    for which in ("box", "clinic", "outside"):
        subprocess.run([ns.ip, "netns", "add", ns.name(which)], check=True)
        ns.run(which, ns.ip, "link", "set", "lo", "up")
    links = [
        ("clinic", [(BOX_CLINIC, "box")], [(CLINIC, "clinic"), (ADMIN, "clinic")]),
        ("outside", [(BOX_OUTSIDE, "box")], [(OUTSIDE, "outside")]),
    ]
    for peer, box_side, peer_side in links:
        here, there = f"{ns.prefix[:8]}b{peer[0]}", f"{ns.prefix[:8]}{peer[0]}b"
        subprocess.run(
            [ns.ip, "link", "add", here, "type", "veth", "peer", "name", there], check=True
        )
        for device, addresses in ((here, box_side), (there, peer_side)):
            which = addresses[0][1]
            subprocess.run([ns.ip, "link", "set", device, "netns", ns.name(which)], check=True)
            for address, _ in addresses:
                ns.run(which, ns.ip, "addr", "add", f"{address}/24", "dev", device)
            ns.run(which, ns.ip, "link", "set", device, "up")


@pytest.fixture(scope="module")
def namespaces(first_run: PlaybookRun, role: Role) -> Iterator[Namespaces]:
    ip = require_tool("ip", "the test wires network namespaces")
    ns = Namespaces(f"fw{os.getpid()}", ip, role.nft)
    listeners: list[subprocess.Popen[str]] = []
    try:
        _wire(ns)
        for which, address, ports in (
            ("box", BOX_CLINIC, ["443", "22"]),
            ("box", BOX_OUTSIDE, ["443"]),
            ("outside", OUTSIDE, ["53", "80"]),
        ):
            listener = subprocess.Popen(
                [
                    ip,
                    "netns",
                    "exec",
                    ns.name(which),
                    sys.executable,
                    "-c",
                    _LISTEN,
                    address,
                    *ports,
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            listeners.append(listener)
            assert listener.stdout is not None
            assert listener.stdout.readline().strip() == "ready"
        # Before the ruleset: everything connects, so a refusal later is the firewall's.
        before = {
            "clinic to ssh": ns.connect("clinic", CLINIC, BOX_CLINIC, 22),
            "box to outside": ns.connect("box", BOX_OUTSIDE, OUTSIDE, 80),
            "outside to https": ns.connect("outside", OUTSIDE, BOX_OUTSIDE, 443),
        }
        assert set(before.values()) == {"connected"}, before
        ns.run("box", role.nft, "--file", str(role.ruleset))
        yield ns
    finally:
        for listener in listeners:
            listener.kill()
            listener.communicate()
        for which in ("box", "clinic", "outside"):
            # Deleting a namespace deletes the veth ends in it, and with them their peers.
            subprocess.run([ip, "netns", "del", ns.name(which)], check=False)


def test_it_admits_the_clinic_to_https(namespaces: Namespaces) -> None:
    assert namespaces.connect("clinic", CLINIC, BOX_CLINIC, 443) == "connected"


def test_it_admits_the_admin_network_to_ssh(namespaces: Namespaces) -> None:
    assert namespaces.connect("clinic", ADMIN, BOX_CLINIC, 22) == "connected"


def test_it_refuses_and_counts_ssh_from_outside_the_admin_networks(
    namespaces: Namespaces,
) -> None:
    before = namespaces.rejected("input_rejected")
    assert namespaces.connect("clinic", CLINIC, BOX_CLINIC, 22) == "refused"
    assert namespaces.rejected("input_rejected") == before + 1


def test_it_refuses_and_counts_https_from_outside_the_clinic(namespaces: Namespaces) -> None:
    before = namespaces.rejected("input_rejected")
    assert namespaces.connect("outside", OUTSIDE, BOX_OUTSIDE, 443) == "refused"
    assert namespaces.rejected("input_rejected") == before + 1


def test_it_refuses_and_counts_connections_leaving_the_box(namespaces: Namespaces) -> None:
    before = namespaces.rejected("output_rejected")
    assert namespaces.connect("box", BOX_OUTSIDE, OUTSIDE, 80) == "refused"
    assert namespaces.rejected("output_rejected") >= before + 1


def test_it_lets_the_box_reach_its_dns_server(namespaces: Namespaces) -> None:
    assert namespaces.connect("box", BOX_OUTSIDE, OUTSIDE, 53) == "connected"


def test_it_opens_a_service_port_only_to_its_sources(namespaces: Namespaces) -> None:
    # 5432 is open to 10.77.9.9 alone: the clinic is refused by the firewall, not by a
    # missing listener (which would answer with a reset the counter never sees).
    before = namespaces.rejected("input_rejected")
    assert namespaces.connect("clinic", CLINIC, BOX_CLINIC, 5432) == "refused"
    assert namespaces.rejected("input_rejected") == before + 1


def test_it_does_not_load_the_ruleset_when_runtime_is_false(
    role: Role, first_run: PlaybookRun
) -> None:
    listed = subprocess.run(
        [role.nft, "list", "table", "inet", TABLE], capture_output=True, text=True, check=False
    )
    assert listed.returncode != 0, listed.stdout
    assert "firewall_runtime is false" in first_run.output


@pytest.mark.usefixtures("first_run")
def test_it_changes_nothing_on_a_second_run(role: Role) -> None:
    second = role.run()
    assert second.returncode == 0, second.output
    assert second.recap()["changed"] == 0, second.output


@pytest.mark.usefixtures("first_run")
def test_it_keeps_the_installed_ruleset_when_nft_refuses_the_new_one(role: Role) -> None:
    installed = role.ruleset.read_bytes()
    # A table name with a space passes the argument spec but not nft's parser.
    run = role.run(firewall_table="two words", firewall_clinic_networks=["10.77.5.0/24"])
    assert run.returncode != 0, run.output
    assert "failed to validate" in run.failure_messages()
    assert run.recap()["changed"] == 0
    assert role.ruleset.read_bytes() == installed


def test_it_refuses_a_host_name_in_an_address_list_before_writing(role: Role) -> None:
    before = role.ruleset.stat().st_mtime_ns if role.ruleset.exists() else None
    run = role.run(firewall_dns_servers=["dns.clinic.lan"])
    assert run.returncode != 0
    assert "firewall_dns_servers holds dns.clinic.lan" in run.failure_messages()
    assert run.recap()["changed"] == 0
    after = role.ruleset.stat().st_mtime_ns if role.ruleset.exists() else None
    assert after == before
