"""`make bench` (write-lock part): page latency while slow work arrives that used to run inside
SQLite's write lock.

Two kinds of slow work reach `appliance serve` without any clinician doing anything unusual:
an upload's sound check (a 60-minute recording of silence, decoded to find out it is silent)
and argon2 at sign-in (ten a second, which needs no account to send). Both once ran inside a
unit of work, which on SQLite holds the database's only write lock from its first statement,
so every other request that writes waited for them. Both now run before the unit of work.

A clinician (alice) reads pages and writes (the idle-timer keepalive) in a loop, first on a
quiet box, then while a 60-minute silent WebM/Opus recording is uploaded and sign-ins arrive at
10 a second, each from its own address (behind the TLS proxy, as X-Forwarded-For), half with
the right password and half for an unknown name: both cost one argon2. One `appliance serve`
process on SQLite, loopback, the load generator on the same 2 cores. Prints a table; not a test.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.served_app import LoopbackBrowser, Served, serve_appliance

PASSWORD = "quiet-harbour-lantern-47"
RECORDING_MINUTES = 60
SIGN_INS_PER_SECOND = 10
QUIET_SECONDS = 15
LOADED_SECONDS = 30


def silent_webm(path: Path, minutes: int) -> Path:
    """WebM/Opus of pure silence, as a browser's recorder would send it; a minute encodes in
    well under a second, and the file is cached next to the benchmark's data."""
    import av
    import numpy as np

    if path.exists():
        return path
    rate = 48_000
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libopus", rate=rate)
        stream.layout = "mono"  # type: ignore[union-attr]
        frame_samples = 960 * 50  # one second
        silence = np.zeros((1, frame_samples), dtype=np.int16)
        for second in range(minutes * 60):
            frame = av.AudioFrame.from_ndarray(silence, format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = second * frame_samples
            for packet in stream.encode(frame):  # type: ignore[union-attr]
                container.mux(packet)
        for packet in stream.encode(None):  # type: ignore[union-attr]
            container.mux(packet)
    return path


@dataclass
class Timings:
    samples: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0

    def add(self, name: str, milliseconds: float) -> None:
        self.samples.setdefault(name, []).append(milliseconds)


def _clinician_loop(alice: LoopbackBrowser, seconds: float) -> Timings:
    timings = Timings()
    token = alice.form_token("/clients/new")
    calls: list[tuple[str, Callable[[], httpx.Response]]] = [
        ("GET /clients", lambda: alice.get("/clients")),
        ("GET /", lambda: alice.get("/")),
        (
            "POST /session/keepalive (writes)",
            lambda: alice.http.post(
                "/session/keepalive",
                headers={**alice.cookie_header(), "x-csrf-token": token},
            ),
        ),
    ]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for name, call in calls:
            started = time.perf_counter()
            response = call()
            timings.add(name, (time.perf_counter() - started) * 1000)
            if response.status_code >= 400:
                timings.errors += 1
        time.sleep(0.05)  # a person clicking, not a tight loop
    return timings


def _sign_ins(base: str, stop: threading.Event, done: list[tuple[int, float]]) -> None:
    """One sign-in every 1/N s, each on its own thread so a slow one does not slow the rate."""
    counter = 0

    def one(n: int) -> None:
        address = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
        name, password = ("bob", PASSWORD) if n % 2 else (f"nobody{n}", "guess-guess-guess")
        visitor = LoopbackBrowser(base)  # keeps the Secure cookies httpx would not send
        visitor.http.headers["x-forwarded-for"] = address
        with visitor.http:
            started = time.perf_counter()
            response = visitor.post("/login", {"username": name, "password": password}, "/login")
            done.append((response.status_code, (time.perf_counter() - started) * 1000))

    threads = []
    next_at = time.monotonic()
    while not stop.is_set():
        thread = threading.Thread(target=one, args=(counter,), daemon=True)
        thread.start()
        threads.append(thread)
        counter += 1
        next_at += 1 / SIGN_INS_PER_SECOND
        time.sleep(max(0.0, next_at - time.monotonic()))
    for thread in threads:
        thread.join(timeout=60)


def _upload(alice: LoopbackBrowser, client_id: str, recording: Path, result: list[str]) -> None:
    form = alice.dictation_form(client_id)
    started = time.perf_counter()
    response = alice.http.post(
        f"/clients/{client_id}/dictations",
        data=form,
        files={"file": ("session.webm", recording.read_bytes(), "audio/webm")},
        headers=alice.cookie_header(),
        timeout=600,
    )
    seconds = time.perf_counter() - started
    refused = "no sound" in response.text.lower() or "silent" in response.text.lower()
    result.append(
        f"{response.status_code} in {seconds:.1f} s"
        + (" (refused as silent, as it should be)" if refused else "")
    )


def _signed_in(served: Served) -> tuple[LoopbackBrowser, str]:
    served.add_user("alice", "clinician", PASSWORD)
    served.add_user("bob", "clinician", PASSWORD)
    alice = LoopbackBrowser(served.base)
    alice.post("/login", {"username": "alice", "password": PASSWORD}, "/login")
    return alice, alice.add_client()


def _rows(phase: str, timings: Timings) -> list[str]:
    rows = []
    for name, times in timings.samples.items():
        p99 = statistics.quantiles(times, n=100)[98] if len(times) >= 2 else times[0]
        rows.append(
            f"| {phase:<38} | {name:<34} | {len(times):>5} | {statistics.median(times):>7.1f} "
            f"| {p99:>7.1f} | {max(times):>7.1f} |"
        )
    return rows


def main() -> int:
    with tempfile.TemporaryDirectory() as workdir:
        recording = silent_webm(Path(workdir) / "silence.webm", RECORDING_MINUTES)
        size_kb = recording.stat().st_size / 1024
        with serve_appliance(Path(workdir)) as served:
            alice, client_id = _signed_in(served)
            quiet = _clinician_loop(alice, QUIET_SECONDS)

            stop = threading.Event()
            sign_ins: list[tuple[int, float]] = []
            uploaded: list[str] = []
            signer = threading.Thread(target=_sign_ins, args=(served.base, stop, sign_ins))
            uploader_browser = LoopbackBrowser(served.base)
            uploader_browser.cookies = dict(alice.cookies)
            uploader = threading.Thread(
                target=_upload, args=(uploader_browser, client_id, recording, uploaded)
            )
            started = time.monotonic()
            signer.start()
            uploader.start()
            loaded = _clinician_loop(alice, LOADED_SECONDS)
            stop.set()
            signer.join()
            uploader.join()
            elapsed = time.monotonic() - started

    rate = len(sign_ins) / elapsed if elapsed else 0.0
    signed = sorted(ms for _, ms in sign_ins)
    statuses: dict[int, int] = {}
    for status, _ in sign_ins:
        statuses[status] = statuses.get(status, 0) + 1
    header = (
        "| phase                                  | request                            | count "
        "| p50 ms  | p99 ms  | max ms  |\n"
        "|----------------------------------------|------------------------------------|-------"
        "|---------|---------|---------|"
    )
    print("\n## Pages while slow work arrives (one `appliance serve`, SQLite, 2 cores)\n")
    print(header)
    for row in _rows("quiet", quiet) + _rows("60-min silent upload + 10 sign-ins/s", loaded):
        print(row)
    print(
        f"\nclinician errors: quiet {quiet.errors}, loaded {loaded.errors}; "
        f"upload of {RECORDING_MINUTES} min silent WebM/Opus ({size_kb:.0f} KiB): "
        f"{uploaded[0] if uploaded else 'no answer'}; sign-ins: {len(sign_ins)} at "
        f"{rate:.1f}/s, statuses {statuses}, p50 {statistics.median(signed):.0f} ms, "
        f"p99 {statistics.quantiles(signed, n=100)[98]:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
