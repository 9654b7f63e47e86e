"""site.yml on a bare Debian 12 tree with the hospital's inventory (inventories/hospital), every
group on one host: the database host, a web app host, a model host and the monitoring host in
one, talking to each other over TLS with certificates from a test CA standing in for the
hospital's, as separate hosts would. `make test-converge` runs it.

What differs from a hospital, and why:
- The profile is cpu: the build machines have no GPU, so the nvidia role skips with its message
  and the model host installs the CPU wheelhouse (the GPU path is checked statically).
- The web app reaches the model server on loopback, without the TLS gateway the hospital's
  app hosts use (speech_url and llm_url keep the app's defaults): the reverse_proxy role builds
  that gateway, and the model hosts' TLS fronts, only between separate hosts.
- PostgreSQL really runs (the postgresql role starts it with pg_ctlcluster, as it does without
  systemd), because the web app's `init` needs its database. It listens on the box's address
  only: this machine's own test cluster holds 127.0.0.1:5432. That address is put on this
  machine's loopback for the test's length, so that the app connects from it, as pg_hba.conf
  wants (it admits the app hosts' addresses only).
"""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.ansible.playbooks import PlaybookRun, require_ansible_playbook
from tests.ansible.postgres import ClinicCA, make_clinic_ca
from tests.converge.box import ADDRESS, Box, assert_changed_nothing
from tests.converge.clinic import ADMIN_HASH, APP_BIN, APP_ENV, KEY, VAULT, admin, tree_values
from tests.tools import require_root, require_tool

PG_PASSWORD = "cedar-window-harbour-6215-lantern"
PUBLIC_NAME = "notes.hospital.lan"
# The name the app hosts' gateway checks on the model hosts' certificates (reverse_proxy).
MODEL_TLS_NAME = "model-server.appliance.internal"


def hospital_values(wheelhouse: Path, ca: ClinicCA) -> dict[str, Any]:
    """The hospital inventory's placeholders replaced with a test site's values."""
    return {
        **tree_values(wheelhouse),
        "appliance_profile": "cpu",
        "base_admin_users": [admin("alice"), admin("bob")],
        "base_log_reader_users": [{"name": "compliance", "ssh_keys": [f"{KEY} compliance@office"]}],
        "firewall_clinic_networks": ["10.20.0.128/25"],
        "monitoring_smtp_from": "notes-alerts@hospital.lan",
        "monitoring_alert_email": "it-oncall@hospital.lan",
        "clinic_ca_certificate": ca.certificate.read_text(),
        "encrypted_storage_tang_servers": [
            {"url": "http://10.20.0.60", "thumbprint": "x4kMzOeDCQW0Z1qUJEm1eM4bNFc"},
        ],
        "model_server_models": [],
        "postgresql_listen_addresses": [ADDRESS],
        "backup_database": "postgresql",
        "appliance_settings": {
            "host": "127.0.0.1",
            "port": 8000,
            "public_url": f"https://{PUBLIC_NAME}",
            "idle_timeout_minutes": 15,
            "metrics_token": "{{ vault_appliance_metrics_token }}",
            "model_api_key": "{{ vault_model_api_key }}",
            "two_person_access_changes": True,
            # The hospital inventory's own database_url, unchanged.
            "database_url": (
                "postgresql+psycopg://appliance:{{ vault_postgresql_appliance_password"
                " | urlencode }}@{{ hostvars[groups['postgresql'][0]].ansible_host"
                " }}:5432/appliance?sslmode=verify-full&sslrootcert=/etc/appliance/clinic-ca.pem"
            ),
        },
    }


def _vault(ca: ClinicCA) -> dict[str, Any]:
    return {
        **VAULT,
        "vault_base_admin_password_hashes": {"alice": ADMIN_HASH, "bob": ADMIN_HASH},
        "vault_postgresql_appliance_password": PG_PASSWORD,
        "vault_tls_certificates": {"box": ca.server_certificate},
        "vault_tls_private_keys": {"box": ca.server_key},
    }


@pytest.fixture(scope="module")
def clinic_ca(tmp_path_factory: pytest.TempPathFactory) -> ClinicCA:
    # One certificate for every role the host plays: the database's address, the public name,
    # and the model hosts' common name.
    names = (f"IP:{ADDRESS}", f"DNS:{PUBLIC_NAME}", "DNS:box", f"DNS:{MODEL_TLS_NAME}")
    return make_clinic_ca(tmp_path_factory.mktemp("hospital-ca"), names)


@pytest.fixture(scope="module")
def address_on_loopback() -> Iterator[None]:
    ip = require_tool("ip", "the box's address is put on this machine's loopback")
    shown = subprocess.run(
        [ip, "-o", "address", "show", "to", f"{ADDRESS}/32"],
        capture_output=True,
        text=True,
        check=True,
    )
    if shown.stdout.strip():
        raise AssertionError(f"{ADDRESS} is already on this machine: {shown.stdout.strip()}")
    subprocess.run([ip, "address", "add", f"{ADDRESS}/32", "dev", "lo"], check=True)
    try:
        yield
    finally:
        subprocess.run([ip, "address", "del", f"{ADDRESS}/32", "dev", "lo"], check=False)


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory, address_on_loopback: None) -> Iterator[Box]:
    require_root("debootstrap, chroot and mount namespaces need root")
    require_ansible_playbook()
    workdir = tmp_path_factory.mktemp("converge-hospital")
    box = Box.fresh(workdir, "hospital")
    try:
        yield box
    finally:
        # The role started the cluster; it outlives the playbook run that started it.
        box.run("pg_ctlcluster", "15", "main", "stop", "--mode", "fast", check=False)
        shutil.rmtree(box.root, ignore_errors=True)


@pytest.fixture(scope="module")
def inventory(box: Box, wheelhouse: Path, clinic_ca: ClinicCA) -> Path:
    values = hospital_values(wheelhouse, clinic_ca)
    return box.write_inventory("hospital", values, _vault(clinic_ca))


@pytest.fixture(scope="module")
def first(box: Box, inventory: Path) -> PlaybookRun:
    return box.converge_logged(inventory, "first-run.log")


@pytest.fixture(scope="module")
def second(box: Box, inventory: Path, first: PlaybookRun) -> PlaybookRun:
    return box.converge_logged(inventory, "second-run.log", expect_success=False)


def test_a_second_run_changes_nothing(second: PlaybookRun) -> None:
    assert_changed_nothing(second)


def _connect(ca: ClinicCA, **params: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=ADDRESS,
        port=5432,
        dbname="appliance",
        user="appliance",
        password=PG_PASSWORD,
        sslrootcert=str(ca.certificate),
        connect_timeout=10,
        **params,
    )


@pytest.mark.usefixtures("first")
def test_the_database_admits_the_app_host_over_verified_tls_only(clinic_ca: ClinicCA) -> None:
    with _connect(clinic_ca, sslmode="verify-full", require_auth="scram-sha-256") as connection:
        row = connection.execute(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone()
    assert row is not None and row[0] is True, row
    assert row[1] in ("TLSv1.2", "TLSv1.3")
    with pytest.raises(psycopg.OperationalError, match=re.escape("no pg_hba.conf entry")):
        _connect(clinic_ca, sslmode="disable").close()


def _as_service(box: Box, *args: str) -> subprocess.CompletedProcess[str]:
    return box.run("runuser", "-u", "appliance", "--", *APP_ENV, APP_BIN, *args, check=False)


@pytest.mark.usefixtures("first")
def test_the_web_app_reaches_its_database_as_the_service_would(box: Box) -> None:
    # Through database_url's verify-full against the clinic CA the role installed.
    listed = _as_service(box, "user", "list")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "practice-admin" in listed.stdout
    verified = _as_service(box, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # The records are in PostgreSQL, not in a SQLite file beside the keys.
    assert not box.path("/var/lib/appliance/appliance.db").exists()
    assert stat.S_IMODE(box.path("/etc/appliance/clinic-ca.pem").stat().st_mode) == 0o644


@pytest.mark.usefixtures("first")
def test_nginx_prometheus_and_alertmanager_accept_their_installed_configuration(box: Box) -> None:
    for command in (
        ("nginx", "-t"),
        ("promtool", "check", "config", "/etc/prometheus/prometheus.yml"),
        ("amtool", "check-config", "/etc/prometheus/alertmanager.yml"),
        ("nft", "--check", "--file", "/etc/nftables.conf"),
    ):
        done = box.run(*command, check=False)
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"


# On one host the app reaches the model server and Prometheus scrapes everything over loopback:
# the reverse_proxy role builds the model fronts and the gateway only between separate hosts
# (tests/ansible/test_reverse_proxy_role.py and test_monitoring_role.py run those).
@pytest.mark.usefixtures("first")
def test_the_tls_listeners_present_the_clinic_cas_certificate(
    box: Box, clinic_ca: ClinicCA
) -> None:
    site = box.path("/etc/nginx/conf.d/appliance.conf").read_text()
    for port in (443, 9443):  # HTTPS, and the metrics listener for the monitoring hosts
        assert re.search(rf"listen \S+:{port} ssl;", site), port
    served = box.path("/etc/nginx/tls/appliance.crt").read_text()
    assert served.strip() == clinic_ca.server_certificate.strip()


@pytest.mark.usefixtures("first")
def test_the_firewall_opens_each_service_port_to_the_hosts_that_use_it_only(box: Box) -> None:
    ruleset = box.path("/etc/nftables.conf").read_text()
    for port in (5432, 8443, 8444, 9100, 9443):
        rules = [line for line in ruleset.splitlines() if re.search(rf"dport {port}\b", line)]
        assert rules, f"no rule for {port}"
        assert all(ADDRESS in line for line in rules), rules


@pytest.mark.usefixtures("first")
def test_the_nightly_backup_dumps_the_shared_database_over_verified_tls(box: Box) -> None:
    settings = dict(
        line.split("=", 1)
        for line in box.path("/etc/appliance-backup/backup.conf").read_text().splitlines()
        if line.startswith("BACKUP_PG") or line.startswith("BACKUP_DATABASE=")
    )
    assert settings["BACKUP_DATABASE"] == "postgresql"
    assert settings["BACKUP_PGHOST"] == ADDRESS
    assert settings["BACKUP_PGSSLMODE"] == "verify-full"
    assert settings["BACKUP_PGSSLROOTCERT"] == "/etc/appliance/clinic-ca.pem"
