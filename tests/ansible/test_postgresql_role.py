"""The `postgresql` Ansible role, run for real against a cluster of its own on this machine.

The role creates, configures and starts a throwaway cluster (its own name and a free port,
never the suite's cluster on 5432) with pg_ctlcluster, since the build machines have no systemd
as PID 1, and the tests then connect to it with psycopg as the web app would. The app host is
127.0.0.2: a small TCP relay connects from that address (libpq cannot choose its source
address), so the server sees one connection from an app host and, directly, one from
127.0.0.1, which is not. The relay only copies bytes: TLS runs end to end between psycopg and
the server. Teardown drops the cluster (pg_dropcluster --stop) and its configuration folder.

Every run that can share a playbook run does: the first run and the idempotent second run also
deploy a build machine's cluster (`postgresql_runtime: false`) as a second inventory host, and
every refusal (each its own inventory host, each with one bad value) comes from one run.
"""

from __future__ import annotations

import json
import pwd
import re
import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.ansible.playbooks import (
    LOCALHOST,
    PlaybookRun,
    require_ansible_playbook,
    run_playbook,
    write_role_playbook,
)
from tests.ansible.postgres import SOCKET_DIR, VERSION, ClinicCA, drop_cluster, make_clinic_ca
from tests.served_app import free_port
from tests.tools import require_root, require_tool

# Each runs the role for real on this machine: `make test-roles`, never `make test`.
pytestmark = pytest.mark.roles

CLUSTER = "ansible_role_test"
# The build machine's cluster, written and checked by the same runs but never started.
OFF_CLUSTER = f"{CLUSTER}_off"
PASSWORD = "amber-kettle-orchard-1931"
SHORT_PASSWORD = "tiny-secret-pw"
DATABASE = "appliance"
USER = "appliance"
APP_HOST = "127.0.0.2"
# The restore drill's scratch database (postgresql_drill_db_name's default).
DRILL_DATABASE = f"{DATABASE}_drill"
# The server's refusal when no pg_hba.conf line matches (not a wrong password, not a TLS error).
NO_HBA_ENTRY = re.escape("no pg_hba.conf entry for host")


class Relay:
    """Accepts on 127.0.0.1 and connects onward to the server from `source`."""

    def __init__(self, source: str, port: int) -> None:
        self.source, self.target_port = source, port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.socket()
            upstream.bind((self.source, 0))
            upstream.connect(("127.0.0.1", self.target_port))
            self.sockets += [client, upstream]
            for one, other in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(one, other), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        # shutdown wakes the thread blocked in accept(); close alone may not.
        self.listener.shutdown(socket.SHUT_RDWR)
        for sock in self.sockets:
            sock.close()


def failures(output: str) -> dict[str, str]:
    """Each host's failure message, in normal or -vvv output (which prints the result as
    indented JSON over several lines)."""
    found: dict[str, str] = {}
    lines = iter(output.splitlines())
    for line in lines:
        matched = re.match(r"fatal: \[(?P<host>[^\]]+)\]: FAILED! => (?P<payload>.*)$", line)
        if not matched:
            continue
        payload = matched["payload"]
        if payload == "{":
            payload = "{\n" + "\n".join(iter(lambda: next(lines), "}")) + "\n}"
        try:
            found[matched["host"]] = str(json.loads(payload).get("msg", payload))
        except json.JSONDecodeError:
            found[matched["host"]] = payload
    return found


@dataclass(frozen=True)
class Target:
    workdir: Path
    port: int
    relay: Relay

    @property
    def config_dir(self) -> Path:
        return Path(f"/etc/postgresql/{VERSION}/{CLUSTER}")

    def deploy(
        self,
        *args: str,
        inventory: str = "inventory.yml",
        limit: str = "localhost",
        **more_vars: Any,
    ) -> PlaybookRun:
        """The role on `limit` (every host of the inventory with "all"); `more_vars` win."""
        return run_playbook(
            self.workdir / "postgresql-playbook.yml",
            inventory=self.workdir / inventory,
            workdir=self.workdir,
            extra_vars=[more_vars],
            args=["--limit", limit, *args],
        )

    def connect(self, *, via_app_host: bool = True, **params: Any) -> psycopg.Connection[Any]:
        """As the web app: over TLS, checking the server's certificate, SCRAM only."""
        conninfo: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.relay.port if via_app_host else self.port,
            "dbname": DATABASE,
            "user": USER,
            "password": PASSWORD,
            "sslmode": "verify-full",
            "sslrootcert": str(self.config_dir / "tls" / "server.crt"),
            "require_auth": "scram-sha-256",
            "connect_timeout": 10,
            **params,
        }
        return psycopg.connect(**conninfo)

    def superuser(self, dbname: str = DATABASE) -> psycopg.Connection[Any]:
        """The superuser on the local socket: root, through the role's pg_ident.conf map."""
        return psycopg.connect(
            host=SOCKET_DIR, port=self.port, dbname=dbname, user="postgres", autocommit=True
        )


@pytest.fixture(scope="module")
def clinic_ca(tmp_path_factory: pytest.TempPathFactory) -> ClinicCA:
    return make_clinic_ca(tmp_path_factory.mktemp("clinic-ca"))


def _inventory(role_vars: dict[str, Any], hosts: dict[str, dict[str, Any]]) -> str:
    """JSON (which is YAML): the shared variables as the group's, each host's own beside them
    (host variables win over group variables; --extra-vars would win over both)."""
    members = {name: {**LOCALHOST, **own} for name, own in hosts.items()}
    return json.dumps({"all": {"vars": role_vars, "children": {"postgresql": {"hosts": members}}}})


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, clinic_ca: ClinicCA) -> Iterator[Target]:
    require_root("the role creates a PostgreSQL cluster and reads files as postgres")
    require_ansible_playbook()
    require_tool(
        "initdb", "the role creates a cluster", directory=Path(f"/usr/lib/postgresql/{VERSION}/bin")
    )
    require_tool("pg_ctlcluster", "the role starts the cluster with it")
    for cluster in (CLUSTER, OFF_CLUSTER):
        drop_cluster(cluster)  # left over from an interrupted run
    workdir = tmp_path_factory.mktemp("postgresql")
    port = free_port()
    role_vars = {
        "postgresql_packages": [],
        "postgresql_cluster": CLUSTER,
        "postgresql_port": port,
        "postgresql_listen_addresses": ["127.0.0.1"],
        "postgresql_app_addresses": [APP_HOST],
        "postgresql_db_password": PASSWORD,
    }
    # Root without become: every command the role runs as postgres goes through runuser or
    # pg_ctlcluster, and the modules log in as root through the pg_ident.conf map. The build
    # machine's cluster (never started) has a name and port of its own.
    build_box = {
        "postgresql_runtime": False,
        "postgresql_cluster": OFF_CLUSTER,
        "postgresql_port": free_port(),
    }
    hosts = {"localhost": {}, "build-box": build_box}
    (workdir / "inventory.yml").write_text(_inventory(role_vars, hosts))
    # Each host one bad value; all of them run against the same live cluster.
    refusals = {
        "named-app-host": {"postgresql_app_addresses": ["notes-app1.hospital.example"]},
        "short-password": {"postgresql_db_password": SHORT_PASSWORD},
        "foreign-key": {
            "postgresql_tls_certificate": clinic_ca.server_certificate,
            "postgresql_tls_private_key": clinic_ca.other_key,
            "postgresql_tls_ca_certificate": clinic_ca.certificate.read_text(),
        },
        "drill-outsider": {"postgresql_drill_addresses": ["127.0.0.3"]},
        # The live host itself: it gets as far as writing the file (and its self-signed
        # certificate names it, so it keeps the name).
        "localhost": {"postgresql_settings": {"work_mem": "plenty"}},
    }
    (workdir / "refusals.yml").write_text(_inventory(role_vars, refusals))
    write_role_playbook(workdir, "postgresql")
    relay = Relay(APP_HOST, port)
    try:
        yield Target(workdir, port, relay)
    finally:
        relay.close()
        for cluster in (CLUSTER, OFF_CLUSTER):
            drop_cluster(cluster)


@pytest.fixture(scope="module")
def first_run(target: Target) -> PlaybookRun:
    # -vvv prints every task's arguments and results: the password must not be among them.
    run = target.deploy("-vvv", limit="all")
    assert run.returncode == 0, run.output
    return run


@pytest.fixture(scope="module")
def second_run(target: Target, first_run: PlaybookRun) -> PlaybookRun:
    run = target.deploy(limit="all")
    assert run.returncode == 0, run.output
    return run


def test_it_creates_and_starts_the_cluster_then_a_second_run_changes_nothing(
    first_run: PlaybookRun, second_run: PlaybookRun
) -> None:
    assert first_run.recap()["changed"] >= 5
    for host in ("localhost", "build-box"):
        assert second_run.recap(host) == {**second_run.recap(host), "changed": 0, "failed": 0}
    for run in (first_run, second_run):
        assert "[WARNING]" not in run.output
        assert "[DEPRECATION WARNING]" not in run.output


def test_it_keeps_the_password_out_of_the_output(first_run: PlaybookRun) -> None:
    assert "Ensure the app's login role exists" in first_run.output
    assert PASSWORD not in first_run.output


@pytest.mark.usefixtures("first_run")
def test_the_app_host_logs_in_over_verified_tls_with_scram(target: Target) -> None:
    with target.connect() as conn:
        row = conn.execute(
            "SELECT ssl, version, host(client_addr), current_user"
            " FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE pid = pg_backend_pid()"
        ).fetchone()
    assert row is not None
    ssl, version, client_addr, user = row
    assert ssl is True
    assert version in {"TLSv1.2", "TLSv1.3"}
    assert client_addr == APP_HOST
    assert user == USER


@pytest.mark.usefixtures("first_run")
def test_a_connection_without_tls_is_refused(target: Target) -> None:
    with pytest.raises(psycopg.OperationalError, match=NO_HBA_ENTRY) as refused:
        target.connect(sslmode="disable", sslrootcert="", require_auth="")
    assert f'host "{APP_HOST}"' in str(refused.value)
    assert "no encryption" in str(refused.value)


@pytest.mark.usefixtures("first_run")
def test_the_app_user_is_refused_from_an_address_that_is_not_an_app_host(
    target: Target,
) -> None:
    with pytest.raises(psycopg.OperationalError, match=NO_HBA_ENTRY) as refused:
        target.connect(via_app_host=False)
    assert 'host "127.0.0.1"' in str(refused.value)


@pytest.mark.usefixtures("first_run")
def test_the_superuser_cannot_log_in_over_the_network(target: Target) -> None:
    with pytest.raises(psycopg.OperationalError, match=NO_HBA_ENTRY) as refused:
        target.connect(user="postgres", dbname="postgres", require_auth="")
    assert 'user "postgres"' in str(refused.value)


@pytest.mark.usefixtures("first_run")
def test_pg_hba_holds_the_local_superuser_the_app_hosts_and_the_drill_line(
    target: Target,
) -> None:
    with target.superuser() as conn:
        rules = conn.execute(
            "SELECT type, database, user_name, address, netmask, auth_method, error"
            " FROM pg_hba_file_rules ORDER BY line_number"
        ).fetchall()
    host = (APP_HOST, "255.255.255.255", "scram-sha-256", None)
    assert rules == [
        ("local", ["all"], ["postgres"], None, None, "peer", None),
        ("hostssl", [DATABASE], [USER], *host),
        ("hostssl", [DRILL_DATABASE], [USER], *host),
    ]


@pytest.mark.usefixtures("first_run")
def test_the_drill_line_admits_the_app_role_only_to_a_scratch_database_it_cannot_create(
    target: Target,
) -> None:
    # The line matches, but outside a drill there is nothing behind it.
    with pytest.raises(psycopg.OperationalError, match=f'database "{DRILL_DATABASE}" does not'):
        target.connect(dbname=DRILL_DATABASE)
    with (
        target.connect(autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied to create"),
    ):
        conn.execute(f"CREATE DATABASE {DRILL_DATABASE}")
    # Made by the superuser (as restore-drill.yml does), it lets the app host in over TLS, and
    # no other address.
    with target.superuser() as conn:
        conn.execute(f"CREATE DATABASE {DRILL_DATABASE} OWNER {USER}")
    try:
        with target.connect(dbname=DRILL_DATABASE) as conn:
            assert conn.execute(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
            ).fetchone() == (True,)
        with pytest.raises(psycopg.OperationalError, match=NO_HBA_ENTRY):
            target.connect(dbname=DRILL_DATABASE, via_app_host=False)
    finally:
        with target.superuser() as conn:
            conn.execute(f"DROP DATABASE {DRILL_DATABASE}")


@pytest.mark.usefixtures("first_run")
def test_passwords_are_stored_as_scram_verifiers(target: Target) -> None:
    with target.connect() as conn:
        assert conn.execute("SHOW password_encryption").fetchone() == ("scram-sha-256",)
    with target.superuser() as conn:
        row = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", [USER]
        ).fetchone()
    assert row is not None
    assert row[0].startswith("SCRAM-SHA-256$")


@pytest.mark.usefixtures("first_run")
def test_tls_and_logging_settings_are_in_force(target: Target) -> None:
    expected = {
        "ssl": "on",
        "ssl_min_protocol_version": "TLSv1.2",
        "log_statement": "none",
        "log_min_duration_statement": "-1",
        "log_min_error_statement": "panic",
        "log_parameter_max_length": "0",
        "log_parameter_max_length_on_error": "0",
        "log_connections": "on",
        "data_checksums": "on",
    }
    with target.superuser() as conn:
        found = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", [list(expected)]
            ).fetchall()
        )
    assert found == expected


@pytest.mark.usefixtures("first_run")
def test_only_the_owner_may_connect_to_the_app_database(target: Target) -> None:
    with target.superuser() as conn:
        row = conn.execute(
            "SELECT pg_get_userbyid(datdba), datacl::text[] FROM pg_database WHERE datname = %s",
            [DATABASE],
        ).fetchone()
        schema_acl = conn.execute(
            "SELECT nspacl::text[] FROM pg_namespace WHERE nspname = 'public'"
        ).fetchone()
    assert row is not None and schema_acl is not None
    owner, acl = row
    assert owner == USER
    # An entry "=...": what PUBLIC holds. None for the database, no CREATE (C) on the schema.
    assert [entry for entry in acl if entry.startswith("=")] == []
    assert all(
        "C" not in entry.split("=")[1].split("/")[0]
        for entry in schema_acl[0]
        if entry.startswith("=")
    )


@pytest.mark.usefixtures("first_run")
def test_the_private_key_is_readable_by_postgres_only(target: Target) -> None:
    key = (target.config_dir / "tls" / "server.key").stat()
    assert stat.S_IMODE(key.st_mode) == 0o600
    assert key.st_uid == pwd.getpwnam("postgres").pw_uid


def test_runtime_false_writes_and_checks_the_files_but_starts_nothing(
    first_run: PlaybookRun, second_run: PlaybookRun
) -> None:
    config_dir = Path(f"/etc/postgresql/{VERSION}/{OFF_CLUSTER}")
    hba = (config_dir / "pg_hba.conf").read_text()
    assert f"hostssl  {DATABASE}  {USER}  {APP_HOST}/32  scram-sha-256" in hba
    assert "ssl = on" in (config_dir / "conf.d" / "50-appliance.conf").read_text()
    assert (config_dir / "tls" / "server.key").exists()
    assert first_run.recap("build-box")["changed"] >= 5
    assert "postgresql_runtime is false" in first_run.output
    status = subprocess.run(
        [require_tool("pg_ctlcluster", "the test reads the cluster's state"), str(VERSION),
         OFF_CLUSTER, "status"],
        capture_output=True, check=False,
    )  # fmt: skip
    assert status.returncode == 3  # stopped: never started, by either run


@dataclass(frozen=True)
class Refused:
    run: PlaybookRun
    messages: dict[str, str]
    # What the bad setting wrote, read before the live file was put back.
    bad_settings: str


@pytest.fixture(scope="module")
def refused(target: Target, second_run: PlaybookRun) -> Refused:
    """One run (-vvv: the secrets must not show even there) of every refusal case, each an
    inventory host of its own with one bad value, all against the live cluster."""
    settings_file = target.config_dir / "conf.d" / "50-appliance.conf"
    good = settings_file.read_text()
    try:
        run = target.deploy("-vvv", inventory="refusals.yml", limit="all")
        bad_settings = settings_file.read_text()
    finally:
        # As the second run left it, so the next run's changes are its own.
        settings_file.write_text(good)
    return Refused(run, failures(run.output), bad_settings)


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("named-app-host", "must list the web app hosts' IP addresses"),
        ("short-password", "postgresql_db_password must hold at least 20 characters"),
        ("foreign-key", "is not the key of postgresql_tls_certificate"),
        (
            "drill-outsider",
            "may list only addresses of postgresql_app_addresses; it holds 127.0.0.3",
        ),
    ],
)
def test_bad_input_is_refused_before_any_change_naming_it(
    refused: Refused, host: str, message: str
) -> None:
    assert refused.run.returncode != 0
    assert refused.run.recap(host) == {**refused.run.recap(host), "changed": 0, "failed": 1}
    assert message in refused.messages[host], refused.messages


def test_refusals_show_no_secret(refused: Refused) -> None:
    assert "notes-app1.hospital.example" in refused.messages["named-app-host"]
    assert SHORT_PASSWORD not in refused.run.output
    assert "PRIVATE KEY" not in refused.run.output


def test_a_bad_setting_stops_the_run_before_the_server_reloads_it(
    target: Target, refused: Refused
) -> None:
    assert refused.run.recap()["failed"] == 1
    assert "work_mem = 'plenty'" in refused.bad_settings
    failure = refused.messages["localhost"]
    assert "Check the server configuration with postgres -C" in refused.run.output
    # postgres -C's own verdict, in the failed task's stderr.
    assert re.search(
        r'invalid value for parameter \\?"work_mem\\?": \\?"plenty', refused.run.output
    )
    assert "non-zero return code" in failure
    assert "RUNNING HANDLER" not in refused.run.output
    # The server, never told to reload, still runs and lets the app in.
    with target.connect() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


# Last: from here on the server presents the CA's certificate, which the tests above do not
# trust (they pin the self-signed one).
@pytest.mark.usefixtures("second_run", "refused")
def test_a_certificate_from_the_clinic_ca_is_served_and_verifies_against_the_ca(
    target: Target, clinic_ca: ClinicCA
) -> None:
    run = target.deploy(
        postgresql_tls_certificate=clinic_ca.server_certificate,
        postgresql_tls_private_key=clinic_ca.server_key,
        postgresql_tls_ca_certificate=clinic_ca.certificate.read_text(),
    )
    assert run.returncode == 0, run.output
    assert run.recap()["changed"] == 3  # certificate, key, reload
    assert "PRIVATE KEY" not in run.output
    tls = target.config_dir / "tls"
    assert (tls / "server.crt").read_text() == clinic_ca.server_certificate
    assert stat.S_IMODE((tls / "server.key").stat().st_mode) == 0o600
    # The reload put the new certificate in force: the app, trusting only the CA, verifies it.
    with target.connect(sslrootcert=str(clinic_ca.certificate)) as conn:
        assert conn.execute(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone() == (True,)
