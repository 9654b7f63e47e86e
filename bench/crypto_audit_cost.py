"""`make bench` (security part): what envelope encryption and the audit chain cost per request.

Requests go through the whole ASGI app in process (middleware, routing, sessions, templates,
SQLite). Encryption (data-key wrap/unwrap, AES-GCM seal/open) and the audit append are timed
where the clients service and the audit hook call them, so their share of each request is
measured rather than estimated. Prints a table; not a test.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

import appliance.audit.record
import appliance.records.clients
from appliance.identity import accounts
from appliance.roles import Role
from appliance.runtime import initialise
from appliance.settings import Settings
from webui.app import create_app

PASSWORD = "quiet-harbour-lantern-47"
ROUNDS = 200
spent: dict[str, float] = defaultdict(float)


def _timed(bucket: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[bucket] += time.perf_counter() - started

    return wrapper


def _instrument() -> None:
    for name in (
        "new_record_key",
        "open_record_key",
        "open_record_keys",
        "seal",
        "unseal",
        "blind_index",
    ):
        clients = appliance.records.clients
        setattr(clients, name, _timed("crypto", getattr(clients, name)))
    record = appliance.audit.record
    # The audit append as record.py calls it (it imported the name from audit.chain).
    setattr(record, "append_events", _timed("audit", record.append_events))  # noqa: B010


def _measure(name: str, call: Callable[[], Any], rows: list[str]) -> None:
    spent.clear()
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    total = sum(times)
    crypto, audit = spent["crypto"], spent["audit"]
    rows.append(
        f"| {name:<28} | {statistics.median(times) * 1000:>7.2f} "
        f"| {crypto / ROUNDS * 1000:>6.3f} | {crypto / total:>6.1%} "
        f"| {audit / ROUNDS * 1000:>6.3f} | {audit / total:>6.1%} |"
    )


def main() -> int:
    _instrument()
    with tempfile.TemporaryDirectory() as workdir:
        settings = Settings(data_dir=Path(workdir), public_url="https://bench")
        running, _ = initialise(settings)
        with running.unit_of_work() as db:
            accounts.create_user(db, "alice", Role.CLINICIAN, password=PASSWORD, by=None)
        http = TestClient(create_app(running), base_url="https://testserver")
        token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text)
        assert token
        http.post(
            "/login",
            data={"csrf_token": token.group(1), "username": "alice", "password": PASSWORD},
        )
        form_token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/clients/new").text)
        assert form_token
        counter = iter(range(10**6))
        rows: list[str] = []
        _measure(
            "POST /clients (create)",
            lambda: http.post(
                "/clients",
                data={
                    "csrf_token": form_token.group(1),
                    "display_name": f"Client {next(counter)}",
                    "external_id": f"R-{next(counter)}",
                    "date_of_birth": "1980-01-02",
                },
                follow_redirects=False,
            ),
            rows,
        )
        detail = re.search(r'href="(/clients/[0-9a-f]{32})"', http.get("/clients").text)
        assert detail
        _measure(f"GET /clients ({ROUNDS} clients)", lambda: http.get("/clients"), rows)
        _measure("GET /clients/{client_id}", lambda: http.get(detail.group(1)), rows)
        http.close()
        running.engine.dispose()

    header = ("request (in process, SQLite)", "p50 ms", "crypto ms", "crypto share")
    print("| " + " | ".join((*header, "audit ms", "audit share")) + " |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
