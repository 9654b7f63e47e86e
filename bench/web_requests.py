"""`make bench` (web part): latency of the foundation's requests against a real `appliance serve`.

One sequential client on loopback, so the numbers are per-request cost, not concurrency.
Prints a table; not a test.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from appliance.identity.passwords import hash_password, verify_password
from tests.served_app import LoopbackBrowser, serve_appliance
from webui.throttle import POSTS_PER_ADDRESS_PER_MINUTE

PASSWORD = "quiet-harbour-lantern-47"
ROUNDS = 200
# Sign-ins are throttled per address (webui.throttle: 30 posts a minute), and this client is one
# address that has already posted 4 times to the credential forms (two set-ups, two sign-ins):
# more rounds than the rest of the minute allows are answered 429, which is the throttle working.
CREDENTIAL_POSTS_BEFORE = 4
LOGIN_ROUNDS = POSTS_PER_ADDRESS_PER_MINUTE - CREDENTIAL_POSTS_BEFORE - 1


def _timed(call: Callable[[], httpx.Response], rounds: int, expect: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == expect, (response.status_code, response.text[:200])
    return times


def _row(name: str, times: list[float]) -> str:
    p95 = statistics.quantiles(times, n=20)[18]
    return (
        f"| {name:<38} | {len(times):>4} | {statistics.median(times):>7.2f} | {p95:>7.2f} "
        f"| {statistics.fmean(times):>7.2f} |"
    )


def main() -> int:
    rows = []
    hashing = [0.0] * 10
    for i in range(10):
        started = time.perf_counter()
        encoded = hash_password(PASSWORD)
        hashing[i] = (time.perf_counter() - started) * 1000
    verifying = []
    for _ in range(10):
        started = time.perf_counter()
        verify_password(PASSWORD, encoded)
        verifying.append((time.perf_counter() - started) * 1000)
    rows.append(_row("argon2id hash (in process)", hashing))
    rows.append(_row("argon2id verify (in process)", verifying))

    with tempfile.TemporaryDirectory() as workdir, serve_appliance(Path(workdir)) as served:
        admin = LoopbackBrowser(served.base)
        admin.post(
            served.setup_path,
            {"username": "root", "password": PASSWORD, "password_again": PASSWORD},
            served.setup_path,
        )
        admin.post("/login", {"username": "root", "password": PASSWORD}, "/login")
        created = admin.post(
            "/admin/users", {"username": "alice", "role": "clinician"}, "/admin/users/new"
        )
        link = re.search(r"/setup/[\w-]+", created.text)
        assert link
        alice = LoopbackBrowser(served.base)
        alice.post(link.group(0), {"password": PASSWORD, "password_again": PASSWORD}, link.group(0))
        alice.post("/login", {"username": "alice", "password": PASSWORD}, "/login")
        token_match = re.search(
            r'name="csrf_token" value="([^"]+)"', alice.get("/clients/new").text
        )
        assert token_match
        token = token_match.group(1)
        cookies = alice.cookie_header()
        http = alice.http

        counter = iter(range(10**6))
        rows.append(
            _row(
                "POST /clients (create)",
                _timed(
                    lambda: http.post(
                        "/clients",
                        data={"csrf_token": token, "display_name": f"C {next(counter)}"},
                        headers=cookies,
                    ),
                    ROUNDS,
                    303,
                ),
            )
        )
        first = alice.get("/clients")
        client_path = re.search(r'href="(/clients/[0-9a-f]{32})"', first.text)
        assert client_path
        rows.append(_row("GET /healthz", _timed(lambda: http.get("/healthz"), ROUNDS, 200)))
        rows.append(
            _row(
                f"GET /clients ({ROUNDS} clients)",
                _timed(lambda: http.get("/clients", headers=cookies), ROUNDS, 200),
            )
        )
        rows.append(
            _row(
                "GET /clients/{client_id}",
                _timed(lambda: http.get(client_path.group(1), headers=cookies), ROUNDS, 200),
            )
        )
        login_page = LoopbackBrowser(served.base)
        login_token = re.search(r'name="csrf_token" value="([^"]+)"', login_page.get("/login").text)
        assert login_token
        login_cookies = login_page.cookie_header()
        rows.append(
            _row(
                "POST /login (argon2 verify + session)",
                _timed(
                    lambda: http.post(
                        "/login",
                        data={
                            "csrf_token": login_token.group(1),
                            "username": "alice",
                            "password": PASSWORD,
                        },
                        headers=login_cookies,
                    ),
                    LOGIN_ROUNDS,
                    303,
                ),
            )
        )
        for browser in (admin, alice, login_page):
            browser.http.close()

    print("| request | n | p50 ms | p95 ms | mean ms |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
