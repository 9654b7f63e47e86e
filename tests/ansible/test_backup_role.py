"""The `backup` role and restore-drill.yml, run for real on this machine as root.

The role runs with `backup_runtime: false` (there is no systemd here to start timers) but creates
its two restic repositories in local folders; the installed backup script then runs directly, as
its systemd service would. The data it backs up is a real appliance data directory made with the
test virtualenv's `appliance` command, and a LUKS2 header on a loop device stands in for the
encrypted volume's. Every verdict comes from the real tools: restic lists the snapshots,
promtool reads the metrics, cryptsetup reads the header back, and the drill's `appliance audit
verify` walks the restored chain.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import tempfile
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
    VENV_BIN,
    PlaybookRun,
    ansible_env,
    require_ansible_playbook,
    run_playbook,
    write_localhost_inventory,
    write_role_playbook,
)
from tests.served_app import free_port
from tests.tools import require_root, require_tool

DATA_PASSWORD = "data-repository-harbour-lantern-31"
KEYS_PASSWORD = "keys-repository-quiet-meadow-58"
LUKS_PASSPHRASE = "lantern quiet harbour seventy-three"


@dataclass(frozen=True)
class Site:
    """This machine as the role sees it: its inventory and variables, where everything goes."""

    workdir: Path
    data_dir: Path
    config_dir: Path
    script: Path
    textfile_dir: Path
    systemd_dir: Path
    work_dir: Path
    luks_device: Path | None
    restic: str

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    def playbook(self, path: Path, *args: str, **overrides: object) -> PlaybookRun:
        return run_playbook(
            path,
            inventory=self.workdir / "inventory.yml",
            workdir=self.workdir,
            extra_vars=[self.workdir / "vars.json", overrides],
            args=args,
        )

    def apply_role(self, *args: str) -> PlaybookRun:
        return self.playbook(self.workdir / "backup-playbook.yml", *args)

    def drill(self, **overrides: object) -> PlaybookRun:
        return self.playbook(ANSIBLE_DIR / "restore-drill.yml", **overrides)

    def run_script(self, action: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.script), action, str(self.config_dir / "backup.conf")],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

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


def _appliance(site_env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "appliance"), *args],
        env=site_env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


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


def _make_site(
    workdir: Path,
    *,
    restic: str,
    appliance_env: dict[str, str],
    settings_toml: str,
    luks_device: Path | None = None,
    **role_vars: object,
) -> Site:
    """A real data directory (key files, appliance.toml, a database with audited actions made
    by the test virtualenv's `appliance`) and the role's variables for backing it up."""
    data_dir = workdir / "data"
    data_dir.mkdir(mode=0o700)
    (data_dir / "appliance.toml").write_text(settings_toml)
    site_env = {
        **{k: v for k, v in ansible_env(workdir).items() if not k.startswith("ANSIBLE_")},
        **appliance_env,
        "APPLIANCE_DATA_DIR": str(data_dir),
    }
    _appliance(site_env, "init")
    _appliance(site_env, "user", "add", "dana", "--role", "admin", "--password-stdin",
               stdin="quiet-harbour-lantern-47\n")  # fmt: skip
    site = Site(
        workdir=workdir,
        data_dir=data_dir,
        config_dir=workdir / "etc",
        script=workdir / "sbin" / "appliance-backup",
        textfile_dir=workdir / "node-exporter",
        systemd_dir=workdir / "systemd",
        work_dir=data_dir / ".backup",
        luks_device=luks_device,
        restic=restic,
    )
    (workdir / "sbin").mkdir()
    site.systemd_dir.mkdir()
    write_localhost_inventory(workdir, groups=["appliance"])
    write_role_playbook(workdir, "backup")
    all_vars = {
        # No systemd here: the timers are written, not started; the repositories are created.
        "backup_runtime": False,
        "backup_init_repositories": True,
        "backup_packages": [],
        "backup_data_repository": str(workdir / "repositories" / "data"),
        "backup_keys_repository": str(workdir / "repositories" / "keys"),
        "backup_data_password": DATA_PASSWORD,
        "backup_keys_password": KEYS_PASSWORD,
        "backup_appliance_data_dir": str(data_dir),
        "backup_appliance_venv": str(VENV_BIN.parent),
        "backup_config_dir": str(site.config_dir),
        "backup_script_path": str(site.script),
        "backup_cache_dir": str(workdir / "cache"),
        "backup_textfile_dir": str(site.textfile_dir),
        "backup_systemd_dir": str(site.systemd_dir),
        **role_vars,
    }
    (workdir / "vars.json").write_text(json.dumps(all_vars))
    return site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, loop_device: LoopDevice) -> Site:
    require_root("the backup runs as root: it reads 0600 key files and LUKS headers")
    require_ansible_playbook()
    restic = require_tool("restic", "the role backs up with restic")
    cryptsetup = require_tool("cryptsetup", "a LUKS2 header on a loop device is backed up")
    device = loop_device()
    _luks_header(device, cryptsetup)
    workdir = tmp_path_factory.mktemp("backup")
    return _make_site(
        workdir,
        restic=restic,
        appliance_env={},
        settings_toml='host = "127.0.0.1"\nport = 8000\n',
        luks_device=device,
        backup_luks_volumes=[
            # The shape of encrypted_storage_volumes, extra keys included.
            {
                "name": "appliance-data",
                "device": str(device),
                "mount_point": str(workdir / "data"),
                "units": ["appliance.service"],
            }
        ],
    )


@pytest.fixture(scope="module")
def first_run(site: Site) -> PlaybookRun:
    # -vvv prints every task's arguments and results: a password that slipped past no_log (or
    # onto a command line) would show.
    run = site.apply_role("-vvv")
    assert run.returncode == 0, run.output
    return run


@pytest.fixture(scope="module")
def backed_up(site: Site, first_run: PlaybookRun) -> subprocess.CompletedProcess[str]:
    done = site.run_script("backup")
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_it_installs_with_changes_and_without_warnings(first_run: PlaybookRun) -> None:
    recap = first_run.recap()
    assert recap["failed"] == 0
    assert recap["changed"] >= 6  # folders, settings, script, passwords, two repositories
    assert "[WARNING]" not in first_run.output
    assert "[DEPRECATION WARNING]" not in first_run.output


def test_it_keeps_the_repository_passwords_out_of_the_output(first_run: PlaybookRun) -> None:
    assert "Ensure each repository's password is in its root-only file." in first_run.output
    assert DATA_PASSWORD not in first_run.output
    assert KEYS_PASSWORD not in first_run.output


@pytest.mark.usefixtures("first_run")
def test_it_writes_the_passwords_to_root_only_files(site: Site) -> None:
    for repository, password in (("data", DATA_PASSWORD), ("keys", KEYS_PASSWORD)):
        path = site.config_dir / f"{repository}.password"
        assert path.read_text() == f"{password}\n"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.stat().st_uid == 0
    assert stat.S_IMODE(site.config_dir.stat().st_mode) == 0o700


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
def test_the_backup_leaves_a_snapshot_in_each_repository(site: Site) -> None:
    for repository in ("data", "keys"):
        snapshots = site.restic_json(repository, "snapshots")
        assert len(snapshots) == 1, snapshots
        assert snapshots[0]["tags"] == [f"appliance-{repository}"]


@pytest.mark.usefixtures("backed_up")
def test_the_data_snapshot_holds_the_database_but_no_key_file(site: Site) -> None:
    paths = site.snapshot_paths("data")
    databases = [path for path in paths if path.endswith("/appliance.db")]
    assert len(databases) == 1, paths
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

    assert uuid(header) == uuid(site.luks_device)


@pytest.mark.usefixtures("backed_up")
def test_the_backup_removes_its_staging_copy(site: Site) -> None:
    assert not (site.work_dir / "staging").exists()
    assert stat.S_IMODE(site.work_dir.stat().st_mode) == 0o711


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
def test_a_second_run_changes_nothing(site: Site) -> None:
    second = site.apply_role()
    assert second.returncode == 0, second.output
    assert second.recap()["changed"] == 0, second.output


@pytest.mark.usefixtures("backed_up")
def test_the_drill_passes_on_a_good_backup_and_leaves_no_scratch(site: Site) -> None:
    run = site.drill()
    assert run.returncode == 0, run.output
    assert run.recap()["changed"] == 0, run.output
    assert "audit chain intact:" in run.output
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
def tampered_row(site: Site, backed_up: subprocess.CompletedProcess[str]) -> Iterator[None]:
    """One audit row changed in the live database (as someone with write access to the file
    would), then put back: the chain verifies again for the tests that follow."""
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
        done = site.run_script("backup")
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.usefixtures("tampered_row")
def test_the_drill_fails_when_an_audit_row_was_tampered_with(site: Site) -> None:
    done = site.run_script("backup")
    assert done.returncode == 0, done.stdout + done.stderr
    run = site.drill()
    assert run.returncode != 0
    messages = run.failure_messages()
    assert "The restored backup's audit chain does not verify: audit chain BROKEN at event" in (
        messages
    ), run.output
    assert not list(site.work_dir.glob("drill.*"))


# PostgreSQL: a private cluster on a free loopback port (never the suite's on 5432), its data
# in a folder the postgres account can reach, stopped and removed after the module.
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PASSWORD = "postgres-appliance-cedar-window-62"


@dataclass(frozen=True)
class PrivatePostgres:
    socket_dir: Path
    port: int

    def superuser(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=str(self.socket_dir), port=self.port, user="postgres", dbname="postgres",
            autocommit=True,
        )  # fmt: skip

    def databases(self) -> list[str]:
        with self.superuser() as db:
            return [str(row[0]) for row in db.execute("SELECT datname FROM pg_database")]


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    require_root("the cluster runs as the postgres account")
    initdb = require_tool("initdb", "a private PostgreSQL cluster", directory=PG_BIN)
    base = Path(tempfile.mkdtemp(prefix="backup-postgres-"))
    shutil.chown(base, "postgres", "postgres")
    as_postgres: dict[str, Any] = {"user": "postgres", "group": "postgres", "extra_groups": []}
    subprocess.run(
        [initdb, "--pgdata", str(base / "data"), "--username=postgres", "--auth-local=trust",
         "--auth-host=scram-sha-256", "--no-sync"],
        capture_output=True, check=True, timeout=120, cwd=base, **as_postgres,
    )  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [str(PG_BIN / "postgres"), "-D", str(base / "data"), "-p", str(port), "-k", str(base),
         "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=base, start_new_session=True,
        **as_postgres,
    )  # fmt: skip
    cluster = PrivatePostgres(base, port)
    try:
        for _ in range(100):
            try:
                with cluster.superuser() as db:
                    db.execute(f"CREATE ROLE appliance LOGIN CREATEDB PASSWORD '{PG_PASSWORD}'")
                    db.execute("CREATE DATABASE appliance OWNER appliance")
                break
            except psycopg.OperationalError:
                time.sleep(0.1)
        else:
            pytest.fail("the private PostgreSQL cluster did not start")
        yield cluster
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(base)


@pytest.fixture(scope="module")
def postgres_site(
    tmp_path_factory: pytest.TempPathFactory, private_postgres: PrivatePostgres
) -> Site:
    require_ansible_playbook()
    restic = require_tool("restic", "the role backs up with restic")
    url = (
        f"postgresql+psycopg://appliance:{PG_PASSWORD}@127.0.0.1:{private_postgres.port}/appliance"
    )
    return _make_site(
        tmp_path_factory.mktemp("backup-postgres"),
        restic=restic,
        appliance_env={"APPLIANCE_DATABASE_URL": url},
        # As the appliance role writes it: the database password is in the settings file.
        settings_toml=f'database_url = "{url}"\n',
        backup_database="postgresql",
        backup_postgresql_host="127.0.0.1",
        backup_postgresql_port=private_postgres.port,
        backup_postgresql_password=PG_PASSWORD,
        # The private cluster serves no TLS; the postgresql role's does.
        backup_postgresql_sslmode="disable",
    )


def test_postgresql_is_dumped_and_the_drill_restores_it_into_a_scratch_database(
    postgres_site: Site, private_postgres: PrivatePostgres
) -> None:
    run = postgres_site.apply_role()
    assert run.returncode == 0, run.output
    assert PG_PASSWORD not in run.output
    pgpass = postgres_site.config_dir / "pgpass"
    assert stat.S_IMODE(pgpass.stat().st_mode) == 0o600
    done = postgres_site.run_script("backup")
    assert done.returncode == 0, done.stdout + done.stderr
    data_paths = postgres_site.snapshot_paths("data")
    assert [path for path in data_paths if path.endswith("/appliance.dump")], data_paths
    assert not [path for path in data_paths if path.endswith(".key")], data_paths
    drill = postgres_site.drill()
    assert drill.returncode == 0, drill.output
    assert drill.recap()["changed"] == 0
    assert "audit chain intact:" in drill.output
    assert "Restore the dump into the scratch database." in drill.output
    # The scratch database and folder are gone; the live database is still there.
    databases = private_postgres.databases()
    assert "appliance" in databases
    assert not [name for name in databases if name.startswith("appliance_drill_")], databases
    assert not list(postgres_site.work_dir.glob("drill.*"))
