"""Upgrading the web app to another release with site.yml's appliance plays, and rollback.yml.

Two app hosts (this machine twice, each with its own folders and unit name, one shared SQLite
database) run site.yml's own two appliance plays, read from site.yml: the role with
`appliance_start: false`, then `tasks/start.yml` with `serial: 1`. A release here is a name
(`appliance_release`) over the test's virtualenv, so no 464 MB wheelhouse is installed twice;
the schema move is real (the database is taken one revision back first, as an older release left
it). A stand-in `systemctl` early in PATH records every stop and start with the number of
snapshots present at that moment. The reinstall of a previous wheelhouse runs for real into a
scratch virtualenv with two tiny wheels.
"""

from __future__ import annotations

import base64
import grp
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml

from tests.ansible.playbooks import (
    ANSIBLE_DIR,
    LOCALHOST,
    PlaybookRun,
    require_ansible_playbook,
    run_appliance,
    run_playbook,
    this_machine_as_app_host,
)
from tests.served_app import free_port
from tests.tools import require_root, require_tool

# Each runs the role for real on this machine: `make test-roles`, never `make test`.
pytestmark = pytest.mark.roles

HOSTS = ("app1", "app2")
OLD, NEW = "1.0.0-aaaaaaaaaaaa", "1.1.0-bbbbbbbbbbbb"
SITE_PLAYS = (
    "Deploy the Therapy Notes Appliance web app.",
    "Start the web app one host at a time, verifying each before the next.",
)

# systemctl as the systemd_service module calls it: `show UNIT`, `is-enabled UNIT -l`, and the
# verbs, which are logged with the number of entries in FAKE_SYSTEMCTL_WATCH at that moment.
# Both hosts' tasks run at once (forks), so each call holds a lock over the shared state file:
# without it one host read the other's half-written JSON and failed its task now and then.
FAKE_SYSTEMCTL = """\
import fcntl, json, os, pathlib, sys
state = pathlib.Path(os.environ["FAKE_SYSTEMCTL_STATE"])
watch = pathlib.Path(os.environ["FAKE_SYSTEMCTL_WATCH"])
lock = open(str(state) + ".lock", "a")
fcntl.flock(lock, fcntl.LOCK_EX)
words = [word for word in sys.argv[1:] if not word.startswith("-")]
verb, unit = words[0], (words[1:] or [""])[0]
units = json.loads(state.read_text()) if state.exists() else {}
current = units.setdefault(unit, {"active": False, "enabled": False})
if verb == "show":
    print("LoadState=loaded")
    print("ActiveState=" + ("active" if current["active"] else "inactive"))
elif verb == "is-enabled":
    print("enabled" if current["enabled"] else "disabled")
    sys.exit(0 if current["enabled"] else 1)
else:
    snapshots = len(list(watch.iterdir())) if watch.is_dir() else 0
    with open(os.environ["FAKE_SYSTEMCTL_LOG"], "a") as log:
        log.write(f"{verb} {unit} snapshots={snapshots}\\n")
    if verb in ("start", "restart"):
        current["active"] = True
    elif verb == "stop":
        current["active"] = False
    elif verb == "enable":
        current["enabled"] = True
    state.write_text(json.dumps(units))
"""


@dataclass(frozen=True)
class Site:
    workdir: Path
    port: int

    def host_dir(self, host: str) -> Path:
        return self.workdir / host

    @property
    def database(self) -> Path:
        return self.workdir / "shared.db"

    @property
    def snapshots(self) -> Path:
        return self.host_dir("app1") / "data" / "upgrade-snapshots"

    @property
    def systemctl_log(self) -> Path:
        return self.workdir / "systemctl.log"

    def service_calls(self) -> list[str]:
        log = self.systemctl_log
        lines = log.read_text().splitlines() if log.exists() else []
        return [line for line in lines if not line.startswith("daemon-reload")]

    def marker(self, host: str) -> dict[str, Any]:
        return dict(json.loads((self.host_dir(host) / "opt" / "release.json").read_text()))

    def write_marker(self, host: str, marker: Mapping[str, Any]) -> None:
        (self.host_dir(host) / "opt" / "release.json").write_text(json.dumps(marker))

    def inventory(self) -> Path:
        hosts = {}
        for name in HOSTS:
            base = self.host_dir(name)
            hosts[name] = {
                **LOCALHOST,
                "appliance_data_dir": str(base / "data"),
                "appliance_keys_dir": str(base / "keys"),
                "appliance_install_dir": str(base / "opt"),
                "appliance_systemd_dir": str(base / "systemd"),
                "appliance_service_name": f"appliance-{name}",
            }
        path = self.workdir / "inventory.yml"
        path.write_text(json.dumps({"appliance": {"hosts": hosts}}))
        return path

    def role_vars(self, release: str) -> dict[str, Any]:
        # The first admin only on the first run: later runs would only list the accounts again.
        admin = (
            {}
            if self.marker_exists()
            else {
                "appliance_admin_username": "dave",
                "appliance_admin_password": "quiet-harbour-lantern-47",
            }
        )
        return {
            **admin,
            **this_machine_as_app_host(),
            "appliance_release": release,
            "appliance_runtime": True,
            "appliance_manage_service": True,
            # Nothing serves here: the stand-in systemctl starts nothing.
            "appliance_verify": False,
            "appliance_settings": {
                "host": "127.0.0.1",
                "port": self.port,
                "database_url": f"sqlite:///{self.database}",
            },
        }

    def marker_exists(self) -> bool:
        return (self.host_dir("app1") / "opt" / "release.json").exists()

    def play(self, playbook: Path, release: str, *args: str) -> PlaybookRun:
        for host in HOSTS:
            (self.host_dir(host) / "systemd").mkdir(parents=True, exist_ok=True)
        path = f"{self.workdir / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        return run_playbook(
            playbook,
            inventory=self.inventory(),
            workdir=self.workdir,
            extra_vars=[self.role_vars(release)],
            args=args,
            timeout=180,
            wrapper=[
                "env",
                f"PATH={path}",
                f"FAKE_SYSTEMCTL_STATE={self.workdir / 'systemctl.json'}",
                f"FAKE_SYSTEMCTL_LOG={self.systemctl_log}",
                f"FAKE_SYSTEMCTL_WATCH={self.snapshots}",
            ],
        )

    def deploy(self, release: str, *args: str) -> PlaybookRun:
        return self.play(self.workdir / "site-appliance.yml", release, *args)

    def rollback(self, *args: str) -> PlaybookRun:
        # The release variable plays no part in a rollback: the markers say where to go.
        return self.play(ANSIBLE_DIR / "rollback.yml", "", *args)


def _revision(database: Path) -> str:
    with sqlite3.connect(database) as connection:
        return str(connection.execute("SELECT version_num FROM alembic_version").fetchone()[0])


def _users(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM users").fetchone()[0])


def _task_lines(run: PlaybookRun, task: str) -> list[tuple[str, str]]:
    """The result lines (`changed: [app1]`, `skipping: [app2]`) of one task of a run."""
    section = run.output.split(f"TASK [appliance : {task}]", 1)[1].split("TASK [", 1)[0]
    return re.findall(r"^(ok|changed|skipping|fatal|failed): \[(\w+)\]", section, re.MULTILINE)


def _appliance(site: Site, *args: str, stdin: str = "") -> str:
    data = site.host_dir("app1")
    settings = {"APPLIANCE_DATA_DIR": str(data / "data"), "APPLIANCE_KEYS_DIR": str(data / "keys")}
    return run_appliance(site.workdir, *args, settings=settings, stdin=stdin)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    require_ansible_playbook()
    # The release marker is root's, as the install directory is.
    require_root("the release marker is owned by root")
    require_tool("systemd-analyze", "the role scores its unit with systemd-analyze security")
    workdir = tmp_path_factory.mktemp("upgrade")
    # site.yml's own appliance plays, not a copy of them (JSON is YAML).
    plays = yaml.safe_load((ANSIBLE_DIR / "site.yml").read_text())
    chosen = [play for play in plays if play.get("name") in SITE_PLAYS]
    assert [play["name"] for play in chosen] == list(SITE_PLAYS)
    (workdir / "site-appliance.yml").write_text(json.dumps(chosen))
    fake = workdir / "bin" / "systemctl"
    fake.parent.mkdir()
    fake.write_text(f"#!{sys.executable}\n{FAKE_SYSTEMCTL}")
    fake.chmod(0o755)
    return Site(workdir, free_port())


@pytest.fixture(scope="module")
def installed(site: Site) -> PlaybookRun:
    run = site.deploy(OLD)
    assert run.returncode == 0, run.output
    return run


@pytest.fixture(scope="module")
def unchanged(site: Site, installed: PlaybookRun) -> tuple[PlaybookRun, list[str]]:
    before = site.service_calls()
    run = site.deploy(OLD)
    assert run.returncode == 0, run.output
    return run, site.service_calls()[len(before) :]


@dataclass(frozen=True)
class Upgrade:
    run: PlaybookRun
    old_revision: str
    users_before: int
    calls: list[str]


@pytest.fixture(scope="module")
def upgraded(site: Site, unchanged: tuple[PlaybookRun, list[str]]) -> Upgrade:
    from alembic import command

    from appliance.db import make_engine
    from appliance.migrate import alembic_config

    # One revision back, as the previous release's schema would be.
    engine = make_engine(f"sqlite:///{site.database}")
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")
    engine.dispose()
    old_revision = _revision(site.database)
    users = _users(site.database)
    before = site.service_calls()
    run = site.deploy(NEW, "-v")
    assert run.returncode == 0, run.output
    return Upgrade(run, old_revision, users, site.service_calls()[len(before) :])


@dataclass(frozen=True)
class Rollback:
    run: PlaybookRun
    users_after_upgrade: int
    calls: list[str]


@pytest.fixture(scope="module")
def rolled_back(site: Site, upgraded: Upgrade) -> Rollback:
    # Work done on the new release, which the rollback gives up.
    add = ["user", "add", "erin", "--role", "clinician", "--password-stdin"]
    _appliance(site, *add, stdin="amber-thistle-workbench-83")
    users = _users(site.database)
    before = site.service_calls()
    run = site.rollback()
    assert run.returncode == 0, run.output
    return Rollback(run, users, site.service_calls()[len(before) :])


def test_the_first_installation_records_its_release_and_no_previous_one(
    site: Site, installed: PlaybookRun
) -> None:
    from appliance.migrate import head_revision

    for host in HOSTS:
        marker = site.marker(host)
        assert marker["release"] == OLD
        assert marker["previous"] == ""
        assert marker["complete"] is True
        assert marker["revision_after"] == head_revision()
        assert stat.S_IMODE((site.host_dir(host) / "opt" / "release.json").stat().st_mode) == 0o644
    assert not site.snapshots.exists()
    # Enabled by the role on both hosts at once, then started by the second play, one host after
    # the other.
    calls = [call.split()[:2] for call in site.service_calls()]
    assert sorted(calls[:2]) == [["enable", "appliance-app1"], ["enable", "appliance-app2"]]
    assert calls[2:] == [["start", "appliance-app1"], ["start", "appliance-app2"]]


def test_an_unchanged_rerun_changes_nothing_stops_nothing_and_takes_no_snapshot(
    site: Site, unchanged: tuple[PlaybookRun, list[str]]
) -> None:
    run, calls = unchanged
    for host in HOSTS:
        assert run.recap(host)["changed"] == 0, run.output
    assert calls == []
    assert not site.snapshots.exists()


def test_a_new_release_stops_every_host_before_the_snapshot_and_starts_them_after(
    upgraded: Upgrade,
) -> None:
    # Both stopped with no snapshot yet; both started with the snapshot there, app1 first.
    assert sorted(upgraded.calls[:2]) == [
        "stop appliance-app1 snapshots=0",
        "stop appliance-app2 snapshots=0",
    ], upgraded.calls
    started = [call for call in upgraded.calls[2:] if not call.startswith("enable")]
    assert [call.split()[1] for call in started] == ["appliance-app1", "appliance-app2"]
    assert all(call.startswith(("start ", "restart ")) for call in started), started
    assert all(call.endswith("snapshots=1") for call in started), started


def test_a_new_release_takes_one_snapshot_named_old_to_new_holding_the_old_database(
    site: Site, upgraded: Upgrade
) -> None:
    assert sorted(p.name for p in site.snapshots.iterdir()) == [f"{OLD}-to-{NEW}"]
    snapshot = site.snapshots / f"{OLD}-to-{NEW}"
    assert stat.S_IMODE(site.snapshots.stat().st_mode) == 0o700
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o700
    assert stat.S_IMODE((snapshot / "appliance.db").stat().st_mode) == 0o600
    assert _revision(snapshot / "appliance.db") == upgraded.old_revision
    assert _users(snapshot / "appliance.db") == upgraded.users_before
    assert json.loads((snapshot / "release.json").read_text())["release"] == OLD
    # The other host holds no copy of the shared database.
    assert not (site.host_dir("app2") / "data" / "upgrade-snapshots").exists()


def test_a_new_release_migrates_once_on_the_key_host_and_says_so(
    site: Site, upgraded: Upgrade
) -> None:
    from appliance.migrate import head_revision

    assert upgraded.old_revision != head_revision()
    assert _revision(site.database) == head_revision()
    task = "Migrate the database to the new release's schema on the key host."
    assert sorted(_task_lines(upgraded.run, task)) == [("changed", "app1"), ("skipping", "app2")]
    assert (
        f"database migrated from revision {upgraded.old_revision} to {head_revision()}"
        in upgraded.run.output
    )


def test_a_new_release_is_recorded_with_the_one_before_it_and_the_revisions(
    site: Site, upgraded: Upgrade
) -> None:
    from appliance.migrate import head_revision

    for host in HOSTS:
        marker = site.marker(host)
        assert marker["release"] == NEW
        assert marker["previous"] == OLD
        assert marker["complete"] is True
        assert marker["revision_before"] == upgraded.old_revision
        assert marker["revision_after"] == head_revision()


def test_rollback_restores_the_snapshot_and_records_the_previous_release(
    site: Site, upgraded: Upgrade, rolled_back: Rollback
) -> None:
    assert rolled_back.users_after_upgrade == upgraded.users_before + 1
    # The account added after the upgrade is gone, and no migration ran on the old schema.
    assert _users(site.database) == upgraded.users_before
    assert _revision(site.database) == upgraded.old_revision
    assert stat.S_IMODE(site.database.stat().st_mode) == 0o600
    for host in HOSTS:
        marker = site.marker(host)
        assert marker["release"] == OLD
        assert marker["previous"] == ""
    # Set aside, so that it is never restored again.
    names = [p.name for p in site.snapshots.iterdir()]
    assert len(names) == 1 and names[0].startswith(f"{OLD}-to-{NEW}.restored-"), names


def test_rollback_stops_every_host_before_restoring_and_starts_them_one_by_one(
    rolled_back: Rollback,
) -> None:
    calls = [call.split()[:2] for call in rolled_back.calls]
    assert sorted(calls[:2]) == [["stop", "appliance-app1"], ["stop", "appliance-app2"]], calls
    assert calls[2:] == [["start", "appliance-app1"], ["start", "appliance-app2"]], calls


@pytest.mark.usefixtures("rolled_back")
def test_rollback_without_a_previous_release_refuses_and_changes_nothing(site: Site) -> None:
    before = site.service_calls()
    run = site.rollback()
    assert run.returncode != 0, run.output
    assert "has no previous release to roll back to" in run.failure_messages(), run.output
    for host in HOSTS:
        assert run.recap(host)["changed"] == 0
    assert site.service_calls() == before


@pytest.mark.usefixtures("rolled_back")
def test_rollback_without_a_snapshot_refuses_and_changes_nothing(site: Site) -> None:
    for host in HOSTS:
        site.write_marker(host, {"release": NEW, "previous": OLD})
    before, revision = site.service_calls(), _revision(site.database)
    run = site.rollback()
    assert run.returncode != 0, run.output
    assert f"holds no upgrade snapshot ending in -to-{NEW}" in run.failure_messages(), run.output
    for host in HOSTS:
        assert run.recap(host)["changed"] == 0
        assert site.marker(host)["release"] == NEW
    assert site.service_calls() == before
    assert _revision(site.database) == revision


@pytest.mark.usefixtures("rolled_back")
def test_an_unfinished_upgrade_refuses_a_third_release_and_changes_nothing(site: Site) -> None:
    # What an upgrade that stopped after its snapshot leaves behind.
    for host in HOSTS:
        site.write_marker(host, {"release": NEW, "previous": OLD, "complete": False})
    before = site.service_calls()
    run = site.deploy("1.2.0-eeeeeeeeeeee")
    assert run.returncode != 0, run.output
    message = run.failure_messages()
    assert f"halfway through the upgrade from {OLD} to {NEW}" in message, run.output
    assert f"Run site.yml with {NEW} again" in message
    for host in HOSTS:
        assert run.recap(host)["changed"] == 0
        assert site.marker(host)["complete"] is False
    assert site.service_calls() == before


def _tiny_wheel(folder: Path, version: str) -> str:
    """A wheel of the project's name holding one module that knows its version."""
    name = f"therapy_notes_appliance-{version}-py3-none-any.whl"
    info = f"therapy_notes_appliance-{version}.dist-info"
    files = {
        "tiny_release.py": f"VERSION = {version!r}\n",
        f"{info}/METADATA": (
            "Metadata-Version: 2.1\nName: therapy-notes-appliance\n"
            f"Version: {version}\nProvides-Extra: postgres\n"
        ),
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()},{len(text.encode())}"
        for path, text in files.items()
    ]
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    with zipfile.ZipFile(folder / name, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return name


def test_rollback_reinstalls_the_previous_wheelhouse_still_on_the_host(
    tmp_path: Path,
) -> None:
    require_ansible_playbook()
    require_root("the release marker is owned by root")
    opt, data = tmp_path / "opt", tmp_path / "data"
    previous, current = "0.9.0-cccccccccccc", "1.0.0-dddddddddddd"
    wheelhouse = opt / "wheelhouses" / previous
    wheelhouse.mkdir(parents=True)
    wheel = _tiny_wheel(wheelhouse, "0.9.0")
    (wheelhouse / "wheelhouse.json").write_text(json.dumps({"version": "0.9.0", "wheel": wheel}))
    sums = "".join(
        f"{hashlib.sha256((wheelhouse / n).read_bytes()).hexdigest()}  {n}\n"
        for n in (wheel, "wheelhouse.json")
    )
    (wheelhouse / "SHA256SUMS").write_text(sums)
    newer = tmp_path / "newer"
    newer.mkdir()
    venv = tmp_path / "venv"
    # Borrowing the interpreter's own pip where it has one saves ensurepip's seconds.
    quick = [sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)]
    subprocess.run(quick, check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    if subprocess.run([*pip, "--version"], capture_output=True, check=False).returncode != 0:
        subprocess.run(
            [sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=120
        )
    install = [*pip, "install", "--no-index", str(newer / _tiny_wheel(newer, "1.0.0"))]
    subprocess.run(install, check=True, capture_output=True, timeout=120)
    (opt / "release.json").write_text(json.dumps({"release": current, "previous": previous}))
    # The live database and the snapshot: any SQLite file restores the same way.
    data.mkdir(mode=0o700)
    snapshot = data / "upgrade-snapshots" / f"{previous}-to-{current}"
    snapshot.mkdir(parents=True)
    kept_marker = {"release": previous, "previous": "", "revision_after": "0010"}
    (snapshot / "release.json").write_text(json.dumps(kept_marker))
    for path, value in ((snapshot / "appliance.db", "before"), (data / "appliance.db", "after")):
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE t (v TEXT)")
            connection.execute("INSERT INTO t VALUES (?)", (value,))
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"appliance": {"hosts": {"lone": LOCALHOST}}}))
    role_vars = {
        "appliance_user": pwd.getpwuid(os.getuid()).pw_name,
        "appliance_group": grp.getgrgid(os.getgid()).gr_name,
        "appliance_install": True,
        "appliance_install_dir": str(opt),
        "appliance_venv": str(venv),
        "appliance_data_dir": str(data),
        "appliance_manage_service": False,
    }
    run = run_playbook(
        ANSIBLE_DIR / "rollback.yml",
        inventory=inventory,
        workdir=tmp_path,
        extra_vars=[role_vars],
        timeout=180,
    )
    assert run.returncode == 0, run.output
    shown = subprocess.run(
        [*pip, "show", "therapy-notes-appliance"], capture_output=True, text=True, check=True
    )
    assert "Version: 0.9.0" in shown.stdout
    with sqlite3.connect(data / "appliance.db") as connection:
        assert connection.execute("SELECT v FROM t").fetchall() == [("before",)]
    assert json.loads((opt / "release.json").read_text()) == kept_marker


# PostgreSQL: the role's snapshot helper against a private cluster on a free loopback port (never
# the suite's on 5432), stopped and removed at the end of the test.
PG_BIN = Path("/usr/lib/postgresql/15/bin")
# Characters a URL has to escape, as a vault password may hold them.
PG_PASSWORD = "cedar/window@62%lantern"


def _helper(action: str, folder: Path, url: str, stdin: str = "") -> None:
    script = ANSIBLE_DIR / "roles" / "appliance" / "files" / "release_snapshot.py"
    subprocess.run(
        [sys.executable, "-c", script.read_text(), action, str(folder)],
        env={**os.environ, "APPLIANCE_SNAPSHOT_DATABASE_URL": url},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_a_postgresql_snapshot_is_restored_without_the_tables_the_upgrade_added(
    tmp_path: Path,
) -> None:
    import psycopg

    require_root("the cluster runs as the postgres account")
    # postgresql-15 depends on postgresql-client-15: pg_dump, pg_restore and psql come with it.
    initdb = require_tool("initdb", "a private PostgreSQL cluster", directory=PG_BIN)
    base = Path(tempfile.mkdtemp(prefix="upgrade-postgres-"))
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
    try:
        for _ in range(100):
            try:
                with psycopg.connect(
                    host=str(base), port=port, user="postgres", dbname="postgres", autocommit=True
                ) as db:
                    db.execute(f"CREATE ROLE appliance LOGIN PASSWORD '{PG_PASSWORD}'")
                    db.execute("CREATE DATABASE appliance OWNER appliance")
                break
            except psycopg.OperationalError:
                time.sleep(0.1)
        else:
            pytest.fail("the private PostgreSQL cluster did not start")
        url = (
            f"postgresql+psycopg://appliance:{quote(PG_PASSWORD, safe='')}@127.0.0.1:{port}"
            "/appliance?sslmode=disable"
        )
        app = {"host": "127.0.0.1", "port": port, "user": "appliance", "dbname": "appliance"}
        with psycopg.connect(**app, password=PG_PASSWORD, autocommit=True) as db:
            db.execute("CREATE TABLE notes (v text)")
            db.execute("INSERT INTO notes VALUES ('before')")
        snapshot = tmp_path / f"{OLD}-to-{NEW}"
        _helper("take", snapshot, url, stdin='{"release": "old"}')
        assert stat.S_IMODE(snapshot.stat().st_mode) == 0o700
        assert stat.S_IMODE((snapshot / "appliance.dump").stat().st_mode) == 0o600
        # What the new release did: a row, and a table of its own migrations.
        with psycopg.connect(**app, password=PG_PASSWORD, autocommit=True) as db:
            db.execute("INSERT INTO notes VALUES ('after')")
            db.execute("CREATE TABLE added_by_the_upgrade (v text)")
        _helper("restore", snapshot, url)
        with psycopg.connect(**app, password=PG_PASSWORD) as db:
            assert db.execute("SELECT v FROM notes").fetchall() == [("before",)]
            tables = db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            assert tables.fetchall() == [("notes",)]
        assert sorted(p.name for p in snapshot.iterdir()) == ["appliance.dump", "release.json"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(base)
