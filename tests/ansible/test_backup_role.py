"""The `backup` role and restore-drill.yml, run for real on this machine as root.

One inventory, three hosts, all of them this machine: `notes-box`, a small practice on SQLite
with a LUKS2 header (on a loop device) to keep; `notes-app1`, a hospital's first app host, on
PostgreSQL; and `notes-db1`, its database host, where the `postgresql` role runs a cluster of
its own (its own name, a free port, never the suite's cluster) with TLS from a test CA and the
role's pg_hba.conf. One playbook run deploys the database and both backups; the installed
backup script then runs directly, as its systemd service would (`backup_runtime: false`: no
systemd here to start timers; the repositories are created in local folders).

The data are real: each site's data directory is made with the test virtualenv's `appliance`
command (`init`, then an admin account: audited actions). Every verdict comes from the real
tools: restic lists the snapshots, promtool reads the metrics, cryptsetup reads the header
back, PostgreSQL says which databases exist and who connected how, and the drill's `appliance
audit verify` walks the restored chain.
"""

from __future__ import annotations

import json
import sqlite3
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.ansible.disks import LoopDevice
from tests.ansible.playbooks import (
    ANSIBLE_DIR,
    LOCALHOST,
    VENV_BIN,
    PlaybookRun,
    require_ansible_playbook,
    run_appliance,
    run_playbook,
)
from tests.ansible.postgres import SOCKET_DIR, VERSION, drop_cluster, make_clinic_ca
from tests.served_app import free_port
from tests.tools import require_root, require_tool

DATA_PASSWORD = "data-repository-harbour-lantern-31"
KEYS_PASSWORD = "keys-repository-quiet-meadow-58"
LUKS_PASSPHRASE = "lantern quiet harbour seventy-three"
PG_PASSWORD = "postgres-appliance-cedar-window-62"
PG_CLUSTER = "backup_drill_test"
# The inventory's hosts: the small practice, the hospital's first app host and its database.
SQLITE_HOST, PG_APP_HOST, PG_DB_HOST = "notes-box", "notes-app1", "notes-db1"
# The drill's scratch database: the backup and postgresql roles' defaults.
DRILL_DATABASE = "appliance_drill"
BROKEN_CHAIN = "The restored backup's audit chain does not verify: audit chain BROKEN at event"


@dataclass(frozen=True)
class Site:
    """One app host as the role sees it: where everything goes, and its drill's inventory
    (restore-drill.yml runs on the first host of the appliance group)."""

    host: str
    workdir: Path
    data_dir: Path
    luks_device: Path | None
    restic: str
    drill_inventory: Path

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def config_dir(self) -> Path:
        return self.workdir / "etc"

    @property
    def script(self) -> Path:
        return self.workdir / "sbin" / "appliance-backup"

    @property
    def textfile_dir(self) -> Path:
        return self.workdir / "node-exporter"

    @property
    def systemd_dir(self) -> Path:
        return self.workdir / "systemd"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / ".backup"

    def role_vars(self) -> dict[str, Any]:
        return {
            # No systemd here: the timers are written, not started; the repositories are made.
            "backup_runtime": False,
            "backup_init_repositories": True,
            # Installed already; apt would only refresh its lists (the network).
            "backup_packages": [],
            "backup_data_repository": str(self.workdir / "repositories" / "data"),
            "backup_keys_repository": str(self.workdir / "repositories" / "keys"),
            "backup_data_password": DATA_PASSWORD,
            "backup_keys_password": KEYS_PASSWORD,
            "backup_appliance_data_dir": str(self.data_dir),
            "backup_appliance_venv": str(VENV_BIN.parent),
            "backup_config_dir": str(self.config_dir),
            "backup_script_path": str(self.script),
            "backup_cache_dir": str(self.workdir / "cache"),
            "backup_textfile_dir": str(self.textfile_dir),
            "backup_systemd_dir": str(self.systemd_dir),
        }

    def drill(self, **overrides: object) -> PlaybookRun:
        return run_playbook(
            ANSIBLE_DIR / "restore-drill.yml",
            inventory=self.drill_inventory,
            workdir=self.workdir,
            extra_vars=[overrides],
        )

    def run_script(self, action: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.script), action, str(self.config_dir / "backup.conf")],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def backup(self) -> None:
        done = self.run_script("backup")
        assert done.returncode == 0, done.stdout + done.stderr

    def restic_json(self, repository: str, *args: str) -> list[dict[str, object]]:
        """restic's --json answer: one document, or one per line (`ls`)."""
        done = subprocess.run(
            [
                self.restic,
                "--no-cache",
                f"--repo={self.workdir / 'repositories' / repository}",
                f"--password-file={self.config_dir / repository}.password",
                "--json",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        lines = done.stdout.strip().splitlines()
        if len(lines) == 1 and lines[0].startswith("["):
            return list(json.loads(lines[0]))
        return [json.loads(line) for line in lines]

    def snapshot_paths(self, repository: str) -> list[str]:
        nodes = self.restic_json(repository, "ls", "latest")
        return [str(node["path"]) for node in nodes if node.get("struct_type") == "node"]


@dataclass(frozen=True)
class Database:
    """The postgresql role's cluster on notes-db1, as its superuser reaches it (root, on the
    local socket, through the role's pg_ident.conf map)."""

    port: int
    ca_certificate: Path

    def superuser(self, dbname: str = "postgres") -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(
            host=SOCKET_DIR, port=self.port, user="postgres", dbname=dbname, autocommit=True
        )

    def databases(self) -> list[str]:
        with self.superuser() as db:
            return [str(row[0]) for row in db.execute("SELECT datname FROM pg_database")]

    def audit_events(self) -> int:
        with self.superuser("appliance") as db:
            row = db.execute("SELECT count(*) FROM audit_events").fetchone()
        assert row is not None
        return int(row[0])

    @property
    def log(self) -> Path:
        # Where pg_ctlcluster sends the server's log.
        return Path(f"/var/log/postgresql/postgresql-{VERSION}-{PG_CLUSTER}.log")

    @property
    def url(self) -> str:
        """The app's database_url, as the single box's inventory writes it."""
        return (
            f"postgresql+psycopg://appliance:{PG_PASSWORD}@127.0.0.1:{self.port}/appliance"
            f"?sslmode=verify-full&sslrootcert={self.ca_certificate}"
        )


@dataclass(frozen=True)
class Deployment:
    workdir: Path
    sqlite: Site
    postgresql: Site
    database: Database

    def apply(self, playbook: str, *args: str) -> PlaybookRun:
        return run_playbook(
            self.workdir / playbook,
            inventory=self.workdir / "inventory.yml",
            workdir=self.workdir,
            args=args,
        )


def _appliance(site: Site, *args: str, env: dict[str, str], stdin: str | None = None) -> str:
    settings = {**env, "APPLIANCE_DATA_DIR": str(site.data_dir)}
    return run_appliance(site.workdir, *args, settings=settings, stdin=stdin)


def _populate(site: Site, env: dict[str, str] | None = None) -> None:
    """Key files and a database with audited actions, made by the test virtualenv's appliance."""
    _appliance(site, "init", env=env or {})
    _appliance(site, "user", "add", "dana", "--role", "admin", "--password-stdin",
               env=env or {}, stdin="quiet-harbour-lantern-47\n")  # fmt: skip


def _luks_header(device: Path, cryptsetup: str) -> None:
    # pbkdf2 with few iterations: formatting costs no argon2id time (the header is what counts).
    subprocess.run(
        [
            cryptsetup,
            "luksFormat",
            "--batch-mode",
            "--type=luks2",
            "--pbkdf=pbkdf2",
            "--pbkdf-force-iterations=1000",
            "--key-file=-",
            str(device),
        ],
        input=LUKS_PASSPHRASE.encode(),
        capture_output=True,
        check=True,
    )


def _site(workdir: Path, host: str, restic: str, settings_toml: str, **more: Any) -> Site:
    site = Site(
        host=host,
        workdir=workdir,
        data_dir=workdir / "data",
        restic=restic,
        drill_inventory=workdir / "drill-inventory.yml",
        **more,
    )
    workdir.mkdir()
    site.data_dir.mkdir(mode=0o700)
    (site.data_dir / "appliance.toml").write_text(settings_toml)
    (workdir / "sbin").mkdir()
    site.systemd_dir.mkdir()
    return site


def _inventory(**groups: dict[str, dict[str, Any]]) -> str:
    """JSON (which is YAML): each group's hosts with their own variables, all of them this
    machine. Host variables, not --extra-vars, which would apply to every host."""
    hosts = {
        name: {**LOCALHOST, **own} for members in groups.values() for name, own in members.items()
    }
    children = {group: {"hosts": dict.fromkeys(members)} for group, members in groups.items()}
    return json.dumps({"all": {"hosts": hosts, "children": children}})


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, loop_device: LoopDevice
) -> Iterator[Deployment]:
    require_root("the backup runs as root: it reads 0600 key files and LUKS headers")
    require_ansible_playbook()
    restic = require_tool("restic", "the role backs up with restic")
    cryptsetup = require_tool("cryptsetup", "a LUKS2 header on a loop device is backed up")
    require_tool("initdb", "the postgresql role creates a cluster",
                 directory=Path(f"/usr/lib/postgresql/{VERSION}/bin"))  # fmt: skip
    require_tool("pg_ctlcluster", "the postgresql role starts its cluster with it")
    drop_cluster(PG_CLUSTER)  # left over from an interrupted run
    workdir = tmp_path_factory.mktemp("backup")
    ca = make_clinic_ca(tmp_path_factory.mktemp("clinic-ca"))
    database = Database(free_port(), ca.certificate)

    device = loop_device()
    _luks_header(device, cryptsetup)
    sqlite_site = _site(workdir / SQLITE_HOST, SQLITE_HOST, restic,
                        'host = "127.0.0.1"\nport = 8000\n', luks_device=device)  # fmt: skip
    _populate(sqlite_site)
    # As the appliance role writes it: the database password is in the settings file. Its
    # database is made by the postgresql role, so it is populated after the first run.
    pg_site = _site(workdir / PG_APP_HOST, PG_APP_HOST, restic,
                    f'database_url = "{database.url}"\n', luks_device=None)  # fmt: skip

    sqlite_vars = {
        **sqlite_site.role_vars(),
        "backup_luks_volumes": [
            # The shape of encrypted_storage_volumes, extra keys included.
            {
                "name": "appliance-data",
                "device": str(device),
                "mount_point": str(sqlite_site.data_dir),
                "units": ["appliance.service"],
            }
        ],
    }
    pg_vars = {
        **pg_site.role_vars(),
        "backup_database": "postgresql",
        "backup_postgresql_host": "127.0.0.1",
        "backup_postgresql_port": database.port,
        "backup_postgresql_password": PG_PASSWORD,
        # verify-full (the default) against the clinic CA, which issued the server's certificate.
        "backup_postgresql_sslrootcert": str(ca.certificate),
    }
    # As the single box has it (the app on the database host's loopback), but a host of its
    # own in the inventory, as in the hospital: the drill delegates to notes-db1 by name.
    db_vars = {
        "postgresql_packages": [],
        "postgresql_cluster": PG_CLUSTER,
        "postgresql_port": database.port,
        "postgresql_listen_addresses": ["127.0.0.1"],
        "postgresql_app_addresses": ["127.0.0.1"],
        "postgresql_db_password": PG_PASSWORD,
        "postgresql_tls_certificate": ca.server_certificate,
        "postgresql_tls_private_key": ca.server_key,
        "postgresql_tls_ca_certificate": ca.certificate.read_text(),
    }
    (workdir / "inventory.yml").write_text(
        _inventory(appliance={SQLITE_HOST: sqlite_vars, PG_APP_HOST: pg_vars},
                   postgresql={PG_DB_HOST: db_vars})
    )  # fmt: skip
    sqlite_site.drill_inventory.write_text(_inventory(appliance={SQLITE_HOST: sqlite_vars}))
    pg_site.drill_inventory.write_text(
        _inventory(appliance={PG_APP_HOST: pg_vars}, postgresql={PG_DB_HOST: db_vars})
    )
    # Both roles in one play, each on its group, every host at its own pace (the free
    # strategy): the backup role needs no database until the first backup runs.
    roles = [
        {"role": "postgresql", "when": "'postgresql' in group_names"},
        {"role": "backup", "when": "'appliance' in group_names"},
    ]
    site_play = {"name": "Deploy.", "hosts": "all", "strategy": "free", "roles": roles}
    backup_play = {"name": "Back up the app hosts.", "hosts": "appliance", "roles": ["backup"]}
    for name, play in (("site.yml", site_play), ("backup.yml", backup_play)):
        (workdir / name).write_text(json.dumps([{**play, "gather_facts": False}]))
    try:
        yield Deployment(workdir, sqlite_site, pg_site, database)
    finally:
        drop_cluster(PG_CLUSTER)


@pytest.fixture(scope="module")
def site(deployment: Deployment) -> Site:
    return deployment.sqlite


@pytest.fixture(scope="module")
def pg_site(deployment: Deployment) -> Site:
    return deployment.postgresql


@pytest.fixture(scope="module")
def first_run(deployment: Deployment) -> PlaybookRun:
    # -vvv prints every task's arguments and results: a password that slipped past no_log (or
    # onto a command line) would show.
    run = deployment.apply("site.yml", "-vvv")
    assert run.returncode == 0, run.output
    return run


@pytest.fixture(scope="module")
def backed_up(deployment: Deployment, first_run: PlaybookRun) -> None:
    # The app's database exists now: the app makes its tables and audited actions there, over
    # TLS (verify-full against the clinic CA) from an app host's address.
    _populate(deployment.postgresql, {"APPLIANCE_DATABASE_URL": deployment.database.url})
    deployment.sqlite.backup()
    deployment.postgresql.backup()


def test_it_installs_with_changes_and_without_warnings(first_run: PlaybookRun) -> None:
    # Folders, settings, script, passwords, two repositories (and pg_dump's password file).
    assert first_run.recap(SQLITE_HOST)["changed"] >= 6
    assert first_run.recap(PG_APP_HOST)["changed"] >= 7
    assert first_run.recap(PG_DB_HOST)["changed"] >= 5
    for host in (SQLITE_HOST, PG_APP_HOST, PG_DB_HOST):
        assert first_run.recap(host)["failed"] == 0
    assert "[WARNING]" not in first_run.output
    assert "[DEPRECATION WARNING]" not in first_run.output


def test_it_keeps_the_passwords_out_of_the_output(first_run: PlaybookRun) -> None:
    assert "Ensure each repository's password is in its root-only file." in first_run.output
    assert "Ensure pg_dump's password file matches the vaulted password." in first_run.output
    for password in (DATA_PASSWORD, KEYS_PASSWORD, PG_PASSWORD):
        assert password not in first_run.output


@pytest.mark.usefixtures("first_run")
def test_it_writes_the_passwords_to_root_only_files(
    site: Site, pg_site: Site, deployment: Deployment
) -> None:
    port = deployment.database.port
    expected = {
        site.config_dir / "data.password": f"{DATA_PASSWORD}\n",
        site.config_dir / "keys.password": f"{KEYS_PASSWORD}\n",
        # libpq's format: host:port:database:user:password.
        pg_site.config_dir / "pgpass": f"127.0.0.1:{port}:*:appliance:{PG_PASSWORD}\n",
    }
    for path, content in expected.items():
        assert path.read_text() == content
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.stat().st_uid == 0
    for folder in (site.config_dir, pg_site.config_dir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


@pytest.mark.usefixtures("first_run")
def test_it_writes_hardened_units_and_persistent_timers_without_starting_them(
    site: Site,
) -> None:
    service = (site.systemd_dir / "appliance-backup.service").read_text()
    assert f"ExecStart={site.script} backup {site.config_dir / 'backup.conf'}" in service
    assert "ProtectSystem=strict" in service
    assert f"DeviceAllow={site.luks_device} r" in service
    check = (site.systemd_dir / "appliance-backup-check.service").read_text()
    assert f"ExecStart={site.script} check " in check
    timer = (site.systemd_dir / "appliance-backup.timer").read_text()
    assert "Persistent=true" in timer
    assert "RandomizedDelaySec=30min" in timer
    assert (
        "OnCalendar=Sun *-*-* 04:00:00"
        in (site.systemd_dir / "appliance-backup-check.timer").read_text()
    )


@pytest.mark.usefixtures("backed_up")
def test_the_backup_leaves_a_snapshot_in_each_repository(site: Site, pg_site: Site) -> None:
    for one in (site, pg_site):
        for repository in ("data", "keys"):
            snapshots = one.restic_json(repository, "snapshots")
            assert len(snapshots) == 1, snapshots
            assert snapshots[0]["tags"] == [f"appliance-{repository}"]


@pytest.mark.usefixtures("backed_up")
def test_the_data_snapshot_holds_the_database_but_no_key_file(site: Site, pg_site: Site) -> None:
    for one, copy in ((site, "/appliance.db"), (pg_site, "/appliance.dump")):
        paths = one.snapshot_paths("data")
        assert len([path for path in paths if path.endswith(copy)]) == 1, paths
        assert not [path for path in paths if path.endswith(".key") or "/keys" in path], paths
        assert not [path for path in paths if path.endswith("appliance.toml")], paths


@pytest.mark.usefixtures("backed_up")
def test_the_keys_snapshot_holds_the_key_files_settings_and_luks_header(site: Site) -> None:
    paths = set(site.snapshot_paths("keys"))
    key_files = {str(path) for path in site.keys_dir.glob("*.key")}
    assert {str(site.keys_dir / "kek.key"), str(site.keys_dir / "audit.key")} <= key_files
    assert key_files <= paths
    assert str(site.data_dir / "appliance.toml") in paths
    assert not [path for path in paths if path.endswith(".db")], paths
    assert [path for path in paths if path.endswith("/appliance-data.luksheader")], paths


@pytest.mark.usefixtures("backed_up")
def test_the_luks_header_backup_is_the_devices_header(site: Site, tmp_path: Path) -> None:
    cryptsetup = require_tool("cryptsetup", "the restored header is read back")
    subprocess.run(
        [
            site.restic,
            "--no-cache",
            f"--repo={site.workdir / 'repositories' / 'keys'}",
            f"--password-file={site.config_dir / 'keys'}.password",
            "restore",
            "latest",
            f"--target={tmp_path}",
            "--include=*.luksheader",
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    (header,) = tmp_path.rglob("appliance-data.luksheader")

    def uuid(path: Path) -> str:
        done = subprocess.run(
            [cryptsetup, "luksUUID", str(path)], capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    assert site.luks_device is not None
    assert uuid(header) == uuid(site.luks_device)


@pytest.mark.usefixtures("backed_up")
def test_the_backup_removes_its_staging_copy(site: Site, pg_site: Site) -> None:
    for one in (site, pg_site):
        assert not (one.work_dir / "staging").exists()
        assert stat.S_IMODE(one.work_dir.stat().st_mode) == 0o711


@pytest.mark.usefixtures("backed_up")
def test_the_backup_writes_valid_last_success_metrics(site: Site) -> None:
    promtool = require_tool("promtool", "promtool checks the metric files")
    for repository in ("data", "keys"):
        path = (
            site.textfile_dir / f"appliance_backup_last_success_timestamp_seconds_{repository}.prom"
        )
        text = path.read_text()
        checked = subprocess.run(
            [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        name, value = text.splitlines()[-1].rsplit(" ", 1)
        assert (
            name == f'appliance_backup_last_success_timestamp_seconds{{repository="{repository}"}}'
        )
        assert abs(float(value) - time.time()) < 300
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
    # Written by rename: no temporary file is left behind.
    assert sorted(p.name for p in site.textfile_dir.iterdir() if not p.name.endswith(".prom")) == []


@pytest.mark.usefixtures("backed_up")
def test_the_weekly_check_writes_its_metric(site: Site) -> None:
    done = site.run_script("check")
    assert done.returncode == 0, done.stdout + done.stderr
    for repository in ("data", "keys"):
        path = (
            site.textfile_dir
            / f"appliance_backup_check_last_success_timestamp_seconds_{repository}.prom"
        )
        assert f'{{repository="{repository}"}}' in path.read_text()


@pytest.mark.usefixtures("backed_up")
def test_a_second_run_changes_nothing(deployment: Deployment) -> None:
    second = deployment.apply("backup.yml")
    assert second.returncode == 0, second.output
    for host in (SQLITE_HOST, PG_APP_HOST):
        assert second.recap(host)["changed"] == 0, second.output


def _sqlite_audit_events(site: Site) -> int:
    with sqlite3.connect(site.data_dir / "appliance.db") as db:
        return int(db.execute("SELECT count(*) FROM audit_events").fetchone()[0])


def _verified_events(run: PlaybookRun) -> int:
    """The N of the drill's `audit chain intact: N events`."""
    (line,) = [line for line in run.output.splitlines() if "audit chain intact: " in line]
    return int(line.split("audit chain intact: ")[1].split()[0])


@pytest.mark.usefixtures("backed_up")
def test_the_drill_passes_on_a_good_backup_and_verifies_the_restored_copy(site: Site) -> None:
    events = _sqlite_audit_events(site)
    run = site.drill()
    assert run.returncode == 0, run.output
    assert run.recap(site.host)["changed"] == 0, run.output
    # Every event of the backup walked; the verdict (an audit.verify event) went into the
    # scratch copy, not into the live database, which was neither verified nor written.
    assert _verified_events(run) == events
    assert _sqlite_audit_events(site) == events
    assert not list(site.work_dir.glob("drill.*"))


@pytest.mark.usefixtures("backed_up")
def test_the_drill_fails_on_a_stale_snapshot(site: Site) -> None:
    run = site.drill(backup_drill_max_age_hours=0.00001)
    assert run.returncode != 0
    messages = run.failure_messages()
    assert "The data repository's newest snapshot" in messages
    assert "hours old, more than backup_drill_max_age_hours (1e-05)" in messages
    assert not list(site.work_dir.glob("drill.*"))


@pytest.fixture
def tampered_row(site: Site, backed_up: None) -> Iterator[None]:
    """One audit row changed in the live database (as someone with write access to the file
    would), then put back. The newest snapshot stays the tampered one: no test after this one
    drills the SQLite site."""
    database = site.data_dir / "appliance.db"
    with sqlite3.connect(database) as db:
        seq, reason = db.execute(
            "SELECT seq, reason FROM audit_events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        db.execute("UPDATE audit_events SET reason = 'nothing-happened' WHERE seq = ?", (seq,))
    try:
        yield
    finally:
        with sqlite3.connect(database) as db:
            db.execute("UPDATE audit_events SET reason = ? WHERE seq = ?", (reason, seq))


@pytest.mark.usefixtures("tampered_row")
def test_the_drill_fails_when_an_audit_row_was_tampered_with(site: Site) -> None:
    site.backup()
    run = site.drill()
    assert run.returncode != 0
    assert BROKEN_CHAIN in run.failure_messages(), run.output
    assert not list(site.work_dir.glob("drill.*"))


def _connections_to_the_scratch_database(database: Database, since: int) -> list[str]:
    """The server log's `connection authorized` lines for the scratch database (log_connections
    is on), written after byte `since`."""
    with database.log.open("rb") as log:
        log.seek(since)
        lines = log.read().decode(errors="replace").splitlines()
    return [
        line
        for line in lines
        if "connection authorized:" in line and f"database={DRILL_DATABASE}" in line
    ]


@pytest.mark.usefixtures("backed_up")
def test_the_postgresql_drill_restores_into_a_scratch_database_over_tls_and_drops_it(
    pg_site: Site, deployment: Deployment
) -> None:
    database = deployment.database
    events = database.audit_events()
    log_start = database.log.stat().st_size
    run = pg_site.drill()
    assert run.returncode == 0, run.output
    assert run.recap(pg_site.host)["changed"] == 0, run.output
    # Made and dropped on the database host, by name, as the superuser.
    assert f"[{PG_APP_HOST} -> {PG_DB_HOST}]" in run.output
    assert "Restore the dump into the scratch database." in run.output
    assert _verified_events(run) == events
    assert database.audit_events() == events
    # pg_restore and appliance audit verify came in as the app's role, only over TLS.
    app_connections = [line for line in
                       _connections_to_the_scratch_database(database, log_start)
                       if "user=appliance " in line]  # fmt: skip
    assert len(app_connections) >= 2, app_connections
    assert all("SSL enabled" in line for line in app_connections), app_connections
    # The scratch database and folder are gone; the live database is still there.
    databases = database.databases()
    assert "appliance" in databases
    assert DRILL_DATABASE not in databases
    assert not list(pg_site.work_dir.glob("drill.*"))


@pytest.mark.usefixtures("backed_up")
def test_the_drill_leaves_a_scratch_database_it_did_not_make_alone(
    pg_site: Site, deployment: Deployment
) -> None:
    database = deployment.database
    with database.superuser() as db:
        db.execute(f"CREATE DATABASE {DRILL_DATABASE}")
    try:
        run = pg_site.drill()
        assert run.returncode != 0
        assert (
            f"The scratch database {DRILL_DATABASE} already exists on {PG_DB_HOST}: another"
            in run.failure_messages()
        ), run.output
        # Refused before anything was restored, and not dropped: it may be another drill's.
        assert DRILL_DATABASE in database.databases()
        assert "Restore the newest snapshot" not in run.output
    finally:
        with database.superuser() as db:
            db.execute(f"DROP DATABASE IF EXISTS {DRILL_DATABASE}")


@pytest.fixture
def tampered_pg_row(deployment: Deployment, backed_up: None) -> Iterator[None]:
    """One audit row changed in the live PostgreSQL database by its superuser, then put back.
    The newest snapshot stays the tampered one: no test after this one drills PostgreSQL."""
    with deployment.database.superuser("appliance") as db:
        row = db.execute(
            "SELECT seq, reason FROM audit_events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        assert row is not None
        seq, reason = row
        db.execute("UPDATE audit_events SET reason = 'nothing-happened' WHERE seq = %s", [seq])
    try:
        yield
    finally:
        with deployment.database.superuser("appliance") as db:
            db.execute("UPDATE audit_events SET reason = %s WHERE seq = %s", [reason, seq])


@pytest.mark.usefixtures("tampered_pg_row")
def test_the_postgresql_drill_fails_on_a_tampered_row_and_still_drops_its_database(
    pg_site: Site, deployment: Deployment
) -> None:
    pg_site.backup()
    run = pg_site.drill()
    assert run.returncode != 0
    assert BROKEN_CHAIN in run.failure_messages(), run.output
    assert "Drop the scratch database." in run.output
    assert DRILL_DATABASE not in deployment.database.databases()
    assert not list(pg_site.work_dir.glob("drill.*"))
