from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

from appliance.cli.main import main


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Always SQLite: these tests are about the command line, not the database.
    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("APPLIANCE_LOG_LEVEL", "WARNING")
    return tmp_path / "data"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    previous = os.umask(0o022)
    try:
        code = main(list(argv))
    finally:
        os.umask(previous)  # main() tightens the umask for its process; not for pytest's
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_init_creates_keys_and_prints_a_first_admin_link(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "init")
    assert code == 0
    assert (data_dir / "keys" / "web_secret.key").exists()
    assert re.search(r"http://127\.0\.0\.1:8000/setup/[\w-]{43}", out)


def test_init_again_keeps_keys_and_replaces_the_link(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, first, _ = _run(capsys, "init")
    key = (data_dir / "keys" / "credentials.key").read_bytes()
    _, second, _ = _run(capsys, "init")
    assert "created key file" not in second
    assert (data_dir / "keys" / "credentials.key").read_bytes() == key
    link = re.compile(r"/setup/([\w-]+)")
    assert link.findall(first) != link.findall(second)


def test_user_add_with_password_from_stdin(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(capsys, "init")
    monkeypatch.setattr("sys.stdin", io.StringIO("quiet-harbour-lantern-47\n"))
    code, out, _ = _run(capsys, "user", "add", "Alice", "--role", "clinician", "--password-stdin")
    assert code == 0 and "created clinician alice" in out and "setup link" not in out
    _, listing, _ = _run(capsys, "user", "list")
    assert re.search(r"^alice\s+clinician\s+active", listing, re.M)


def test_user_add_without_password_prints_a_setup_link(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, "init")
    code, out, _ = _run(capsys, "user", "add", "bob", "--role", "clinician")
    assert code == 0 and "setup link (one-time): http://127.0.0.1:8000/setup/" in out


def test_user_add_refuses_a_common_password(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(capsys, "init")
    monkeypatch.setattr("sys.stdin", io.StringIO("password1234\n"))
    code, _, err = _run(capsys, "user", "add", "bob", "--role", "admin", "--password-stdin")
    assert code == 2 and "common" in err


def test_user_disable_and_unknown_names(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "init")
    _run(capsys, "user", "add", "bob", "--role", "clinician")
    code, out, _ = _run(capsys, "user", "disable", "bob")
    assert code == 0 and "disabled bob" in out
    code, _, err = _run(capsys, "user", "disable", "nobody")
    assert code == 2 and "no user named 'nobody'" in err


def test_supervise_assigns_a_supervisor(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "init")
    _run(capsys, "user", "add", "alice", "--role", "clinician")
    _run(capsys, "user", "add", "carol", "--role", "supervisor")
    code, out, _ = _run(capsys, "user", "supervise", "alice", "carol")
    assert code == 0 and "alice is now supervised by carol" in out


def test_a_bad_setting_stops_the_command_and_names_it(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPLIANCE_SESSION_LIFETIME_HOURS", "forever")
    code, _, err = _run(capsys, "init")
    assert code == 2 and "APPLIANCE_SESSION_LIFETIME_HOURS" in err


def test_serve_refuses_to_start_without_its_keys(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "serve")
    assert code == 2 and "missing; run `appliance init`" in err


def test_settings_prints_the_markdown_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "settings")
    assert code == 0 and "| `APPLIANCE_IDLE_TIMEOUT_MINUTES` | `15` |" in out


def test_audit_verify_reports_an_intact_chain(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, "init")
    _run(capsys, "user", "add", "bob", "--role", "clinician")
    code, out, _ = _run(capsys, "audit", "verify")
    assert code == 0 and re.search(r"audit chain intact: \d+ events", out)


def test_audit_verify_names_the_first_bad_event(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    _run(capsys, "init")
    _run(capsys, "user", "add", "bob", "--role", "clinician")
    with sqlite3.connect(data_dir / "appliance.db") as raw:
        raw.execute("UPDATE audit_events SET actor_role = 'admin' WHERE seq = 2")
    code, _, err = _run(capsys, "audit", "verify")
    assert code == 1 and "audit chain BROKEN at event 2" in err


def test_keys_rotate_replaces_the_kek_and_keeps_data(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, "init")
    kek = (data_dir / "keys" / "kek.key").read_bytes()
    code, out, _ = _run(capsys, "keys", "rotate")
    assert code == 0 and "key rotation finished" in out
    assert (data_dir / "keys" / "kek.key").read_bytes() != kek
    assert _run(capsys, "audit", "verify")[0] == 0


def test_init_leaves_the_database_readable_by_the_owner_only(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import stat

    _run(capsys, "init")
    assert stat.S_IMODE((data_dir / "appliance.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def test_migrate_says_whether_the_schema_moved(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from alembic import command

    from appliance.db import make_engine
    from appliance.migrate import alembic_config, head_revision

    _run(capsys, "init")
    code, out, _ = _run(capsys, "migrate")
    assert code == 0
    assert out == f"database already at revision {head_revision()}\n"
    # One release back: the upgrade the Ansible role reports as a change.
    engine = make_engine(f"sqlite:///{data_dir / 'appliance.db'}")
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")
    engine.dispose()
    code, out, _ = _run(capsys, "migrate")
    assert code == 0
    assert re.fullmatch(rf"database migrated from revision \w+ to {head_revision()}\n", out), out
    assert head_revision() not in out.split(" to ")[0]
