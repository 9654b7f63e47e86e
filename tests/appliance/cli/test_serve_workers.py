"""`appliance serve --workers N`: several web processes on one PostgreSQL database; refused on
SQLite, which takes one writer at a time."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from appliance.cli.main import main
from appliance.db import make_engine
from appliance.jobs.box_duties import DUTIES_LOCK_KEY
from appliance.metrics import MULTIPROCESS_DIR_NAME
from tests.conftest import POSTGRES_URL
from tests.fake_llm import fake_llm
from tests.served_app import LoopbackBrowser, Served, serve_appliance

PASSWORD = "quiet-harbour-lantern-47"
postgres_only = pytest.mark.skipif(
    not POSTGRES_URL,
    reason="several processes need PostgreSQL (set APPLIANCE_TEST_DATABASE_URL)",
)


def _serve(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    previous = os.umask(0o022)
    try:
        code = main(["serve", *argv])
    finally:
        os.umask(previous)  # main() tightens the umask for its process; not for pytest's
    return code, capsys.readouterr().err


@pytest.fixture
def on_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("APPLIANCE_LOG_LEVEL", "WARNING")
    return tmp_path / "data"


def test_it_refuses_several_processes_on_sqlite(
    on_sqlite: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _serve(capsys, "--workers", "2")
    assert code == 2
    assert err.strip().splitlines() == [
        "appliance: --workers 2 needs PostgreSQL: SQLite takes one writer at a time, so on "
        "SQLite the appliance serves from one process (set APPLIANCE_DATABASE_URL to a "
        "PostgreSQL database, or drop --workers)"
    ]
    assert not on_sqlite.exists(), "refused before anything was opened"


def test_it_refuses_the_web_workers_setting_on_sqlite_too(
    on_sqlite: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPLIANCE_WEB_WORKERS", "3")
    code, err = _serve(capsys)
    assert code == 2 and "--workers 3 needs PostgreSQL" in err


def test_it_refuses_more_processes_than_the_sign_in_throttle_can_share(
    on_sqlite: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Refused before the database is opened: the URL needs no server behind it.
    monkeypatch.setenv("APPLIANCE_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    code, err = _serve(capsys, "--workers", "5")  # lockout threshold 5: at most 4 processes
    assert code == 2 and "more than APPLIANCE_LOCKOUT_THRESHOLD - 1 (4)" in err


@pytest.fixture
def own_schema() -> Iterator[str]:
    """A PostgreSQL URL whose tables live in a schema of their own: `appliance init` there finds
    none of the other tests' rows (nor their key registry)."""
    schema = f"workers_{uuid.uuid4().hex[:8]}"
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def _healthz_until_both_processes_answered(served: Served) -> int:
    """Concurrent requests, each on a new connection, until both processes have counted one
    (each keeps its histograms in a file of its own); how many were made."""
    folder = served.data_dir / MULTIPROCESS_DIR_NAME
    made = 0
    with ThreadPoolExecutor(8) as pool:
        while len(list(folder.glob("histogram_*.db"))) < 2:
            assert made < 800, "one process answered every request"
            codes = pool.map(lambda _n: httpx.get(f"{served.base}/healthz").status_code, range(40))
            assert set(codes) == {200}
            made += 40
    return made


def _healthz_count(metrics: str) -> float:
    found = re.findall(
        r'^appliance_http_request_duration_seconds_count\{method="GET",route="/healthz",'
        r'status="200"\} (\S+)$',
        metrics,
        re.M,
    )
    assert len(found) == 1, "one line for the route, summed over the processes"
    return float(found[0])


@postgres_only
def test_two_processes_serve_and_their_metrics_add_up(
    tmp_path: Path, own_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPLIANCE_DATABASE_URL", own_schema)  # for `appliance user add`
    with (
        fake_llm() as llm,
        serve_appliance(
            tmp_path, database_url=own_schema, web_workers="2", llm_url=llm.base_url
        ) as served,
    ):
        before = _healthz_count(httpx.get(f"{served.base}/metrics").text)  # the start's probe
        made = _healthz_until_both_processes_answered(served)
        scrapes = [httpx.get(f"{served.base}/metrics").text for _ in range(6)]
        assert {_healthz_count(s) for s in scrapes} == {before + made}, "a process's share only"
        for metrics in scrapes:
            assert len(re.findall(r"^# TYPE appliance_jobs gauge$", metrics, re.M)) == 1
            assert len(re.findall(r"^appliance_audit_chain_ok ", metrics, re.M)) == 1

        # One process of the two runs the job workers: a typed dictation is drafted.
        engine = make_engine(own_schema)
        with engine.connect() as connection:
            holders = connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND (classid::bigint << 32 | objid::bigint) = :key"
                ),
                {"key": DUTIES_LOCK_KEY},
            ).scalar_one()
        engine.dispose()
        assert holders == 1
        served.add_user("alice", "clinician", PASSWORD)
        alice = LoopbackBrowser(served.base)
        try:
            alice.post("/login", {"username": "alice", "password": PASSWORD}, "/login")
            client_id = alice.add_client()
            sent = alice.http.post(
                f"/clients/{client_id}/dictations",
                data={
                    **alice.dictation_form(client_id),
                    "typed_text": "She slept better this week.",
                },
                files={"file": ("", b"", "application/octet-stream")},
                headers=alice.cookie_header(),
            )
            status_url = sent.headers["location"] + "/status"
            deadline = time.monotonic() + 30
            while (state := alice.get(status_url).json()["state"]) not in ("ready", "failed"):
                assert time.monotonic() < deadline, state
                time.sleep(0.2)
            assert state == "ready"
        finally:
            alice.http.close()
    assert "(2 processes)" in served.log.read_text()
