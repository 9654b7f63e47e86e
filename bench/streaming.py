"""`make bench` (streaming part): Stop -> ready for recordings streamed as the browser streams
them, against the whole-file upload of the same audio, in the same run.

Starts `model-server run --profile cpu` and `appliance serve` (2 job workers) on loopback, signs
in as a clinician over HTTP, and makes dictations by joining the committed espeak-ng recordings
(tests/fixtures/dictations). A streamed dictation goes as webui/static/recorder.js sends it:
POST /clients/{id}/recordings, then numbered 3-second chunks of 16 kHz mono s16le PCM to
/dictations/{id}/chunks, one request at a time in order, each sent when the clinician would have
spoken it (at real-time pace, or `--pace` times faster: the same chunks, closer together), then
POST /dictations/{id}/stop. The clinician's wait is timed from the moment Stop is pressed (when
the last chunk is spoken, so sending it counts) to the dictation's progress reading `ready`; a
whole-file upload's from Submit (the upload counts) to `ready`, as bench.pipeline times it.
Whatever the server does with a recording before Stop (transcribing it whole after Stop, or a
stretch at a time while it goes on) is what gets measured: this client only streams and waits.
If the progress JSON says how much was transcribed before Stop (a `transcribed...` number), its
mean is shown; otherwise "-".

The default grid, chosen to stay near 15 minutes on 2 cores (Whisper base + SmolLM2), where
speaking the audio and hearing it are what take the time:
- real time, one at a time: a 1-minute dictation, once (a 5-minute one at real time is 5
  minutes of sending alone; `--realtime 1 5 20` for the rest);
- 4x pace, one at a time: 1-, 5- and 20-minute dictations (the 20-minute one is 5 minutes of
  sending, the longest item; anything spoken in 20 s or less is run 3 times, the rest once:
  `--runs N` for more);
- 10 at once: 1-minute dictations at 4x pace (40 s of audio offered each wall second, far
  past what 2 cores hear) and at real time (10 s a second: what 10 clinicians really offer).
  10 x 5 minutes is 50 minutes of audio, which 2 cores take 3 to 4 minutes to hear by either
  path (13 to 17 s of audio a wall second, measured with 10 x 1 minute): with both paths and
  both paces that would take the run well past 15 minutes, so `--together 1 5` when there is
  the time;
- the whole-file upload of the same audio next to each (`--no-whole` leaves it out, for a quick
  look while developing).
For N at once it also prints the queue's real-time factor (audio seconds heard per wall second,
from the first chunk or upload to the last draft ready) against the load offered (N x pace), and
how far behind it was when the last clinician stopped. A smoke run: `python -m bench.streaming
--realtime --fast 0.33 --together 0.33 --at-once 2`. Prints tables; not a test.
"""

from __future__ import annotations

import argparse
import io
import secrets
import sys
import tempfile
import time
import wave
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import numpy as np

from bench.pipeline import speech_wav
from tests.dictation_form import DICTATION_FORM
from tests.served_app import LoopbackBrowser, run_model_server, serve_appliance

PASSWORD = "quiet-harbour-lantern-47"
RATE = 16_000
BYTES_PER_SECOND = RATE * 2
# What recorder.js sends: three seconds a chunk.
CHUNK_SECONDS = 3.0
# The target for Stop -> ready, one at a time, at every length.
TARGET_SECONDS = 5.0
# Progress is polled faster than the page does (every 2 s) so the wait is read to a fifth of a
# second, yet slowly enough that ten pollers are not themselves a load on 2 cores.
POLL_SECONDS = 0.2
READY_TIMEOUT = 3600.0


# ---- Pure logic (pacing and percentiles) ----


def chunk_due(sequence: int, chunk_seconds: float, pace: float) -> float:
    """Seconds after Record at which chunk `sequence` has been spoken, and so can be sent: the
    browser cuts a chunk once it holds `chunk_seconds` of audio, `pace` times faster here."""
    return (sequence + 1) * chunk_seconds / pace


def chunks_of(pcm: bytes, chunk_seconds: float) -> list[bytes]:
    """`pcm` cut as the browser cuts it: whole chunks, the last one what is left at Stop."""
    size = int(chunk_seconds * RATE) * 2
    return [pcm[start : start + size] for start in range(0, len(pcm), size)]


def stop_pressed(chunks: Sequence[bytes], chunk_seconds: float, pace: float) -> float:
    """Seconds after Record at which Stop is pressed: when the last (maybe short) chunk ends."""
    whole = chunk_due(len(chunks) - 2, chunk_seconds, pace) if len(chunks) > 1 else 0.0
    return whole + len(chunks[-1]) / BYTES_PER_SECOND / pace


def p50_p95(values: Sequence[float]) -> tuple[float, float]:
    """Median and 95th percentile, interpolated between the values measured (numpy's linear
    method: with a handful of runs it stays within what was seen, where statistics.quantiles'
    default extrapolates past the slowest run)."""
    p50, p95 = np.percentile(np.asarray(values, dtype=float), [50, 95])
    return float(p50), float(p95)


# ---- Audio ----


def _pcm_of(wav: bytes) -> bytes:
    """The wav's samples as raw s16le: what is streamed is exactly what is uploaded whole."""
    with wave.open(io.BytesIO(wav)) as w:
        return bytes(w.readframes(w.getnframes()))


# ---- One clinician's dictations ----


@dataclass(frozen=True)
class Timing:
    """One dictation, in time.monotonic() seconds."""

    audio_seconds: float
    started: float  # Record pressed, or the upload begun
    stopped: float  # Stop pressed, or Submit (= started for an upload)
    ready: float
    # Transcribed before Stop, in seconds, if the progress JSON says so.
    heard_at_stop: float | None = None

    @property
    def wait(self) -> float:
        return self.ready - self.stopped


@dataclass(frozen=True)
class Clinician:
    base: str
    cookies: dict[str, str]
    client_id: str
    form: dict[str, str]  # the new-dictation form's fields, with its CSRF token

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=120, headers=self.cookies)

    def wait_ready(self, http: httpx.Client, dictation_id: str) -> float:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            state = self.status(http, dictation_id)
            if state["state"] in ("ready", "failed"):
                assert state["state"] == "ready", state
                return time.monotonic()
            time.sleep(POLL_SECONDS)
        raise TimeoutError(f"dictation not ready after {READY_TIMEOUT:.0f} s")

    def status(self, http: httpx.Client, dictation_id: str) -> dict[str, object]:
        reply = http.get(f"/dictations/{dictation_id}/status", headers={"X-Background-Poll": "1"})
        assert reply.status_code == 200, reply.text[:300]
        return dict(reply.json())

    def upload(self, wav: bytes) -> Timing:
        """Submit with the file, as bench.pipeline does; Submit -> ready."""
        with self.http() as http:
            started = time.monotonic()
            reply = http.post(
                f"/clients/{self.client_id}/dictations",
                data=self.form,
                files={"file": ("bench.wav", wav, "audio/wav")},
            )
            assert reply.status_code == 303, reply.text[:300]
            dictation_id = reply.headers["location"].rstrip("/").split("/")[-1]
            ready = self.wait_ready(http, dictation_id)
        return Timing(len(_pcm_of(wav)) / BYTES_PER_SECOND, started, started, ready)

    def stream(self, wav: bytes, pace: float, chunk_seconds: float) -> Timing:
        """Record, chunks as they are spoken (one request at a time, in order, as recorder.js
        sends them: a slow answer delays the next chunk), Stop; Stop -> ready."""
        chunks = chunks_of(_pcm_of(wav), chunk_seconds)
        json_headers = {"Accept": "application/json", "X-CSRF-Token": self.form["csrf_token"]}
        with self.http() as http:
            details = {k: v for k, v in self.form.items() if k != "csrf_token"}
            started = time.monotonic()
            reply = http.post(
                f"/clients/{self.client_id}/recordings",
                data={
                    **details,
                    "audio_format": "s16le-16k-mono",
                    "submission": secrets.token_urlsafe(16),
                },
                headers=json_headers,
            )
            assert reply.status_code == 201, reply.text[:300]
            recording = reply.json()
            heard = None
            for sequence, chunk in enumerate(chunks):
                due = started + (
                    chunk_due(sequence, chunk_seconds, pace)
                    if sequence < len(chunks) - 1
                    else stop_pressed(chunks, chunk_seconds, pace)
                )
                time.sleep(max(0.0, due - time.monotonic()))
                if sequence == len(chunks) - 1:
                    # Read before the last chunk and Stop so that neither is counted in it.
                    heard = _transcribed_seconds(self.status(http, recording["id"]))
                sent = http.post(
                    recording["chunks"],
                    data={"sequence": str(sequence)},
                    files={"file": ("chunk.pcm", chunk, "application/octet-stream")},
                    headers=json_headers,
                )
                assert sent.status_code == 201, sent.text[:300]
            stopped = started + stop_pressed(chunks, chunk_seconds, pace)
            done = http.post(recording["stop"], headers=json_headers)
            assert done.status_code == 200, done.text[:300]
            ready = self.wait_ready(http, recording["id"])
        return Timing(len(_pcm_of(wav)) / BYTES_PER_SECOND, started, stopped, ready, heard)


def _transcribed_seconds(status: dict[str, object]) -> float | None:
    """How much of the recording has text already, if the progress JSON offers it (the
    incremental transcription may add it; nothing here depends on it)."""
    for name, value in status.items():
        if name.startswith("transcribed") and isinstance(value, int | float):
            return float(value) / (BYTES_PER_SECOND if name.endswith("bytes") else 1)
    return None


def sign_in(base: str) -> Clinician:
    browser = LoopbackBrowser(base)
    browser.post("/login", {"username": "alice", "password": PASSWORD}, "/login")
    client_id = browser.add_client("Bench")
    form = browser.dictation_form(client_id)
    assert set(DICTATION_FORM) <= set(form)
    cookies = browser.cookie_header()
    browser.http.close()
    return Clinician(base, cookies, client_id, form)


# ---- Runs and tables ----


@dataclass(frozen=True)
class Row:
    minutes: float
    path: str  # "streamed" or "whole file"
    pace: float | None  # None for a whole-file upload
    timings: list[Timing]


def one_at_a_time(send: Callable[[], Timing], runs: int) -> list[Timing]:
    return [send() for _ in range(runs)]


def all_at_once(send: Callable[[], Timing], count: int, spread: float) -> list[Timing]:
    """`count` clinicians, their starts spread evenly over `spread` seconds: clinicians who
    happen to record together still do not press Record in the same instant."""

    def one(index: int) -> Timing:
        time.sleep(index * spread / count)
        return send()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def _length(minutes: float) -> str:
    return f"{minutes:g}-minute" if minutes >= 1 else f"{minutes * 60:.0f}-second"


def _pace(row: Row) -> str:
    return "-" if row.pace is None else ("real time" if row.pace == 1 else f"{row.pace:g}x")


def print_one_at_a_time(rows: list[Row]) -> None:
    print(
        "| Stop -> ready, one at a time (2 cores, Whisper base + SmolLM2, 2 workers) | path "
        "| pace | runs | p50 s | p95 s | heard before Stop |"
    )
    print("|---|---|---|---:|---:|---:|---:|")
    for row in rows:
        p50, p95 = p50_p95([t.wait for t in row.timings])
        heard = [t.heard_at_stop for t in row.timings if t.heard_at_stop is not None]
        seen = f"{np.mean(heard):.0f} s of {row.minutes * 60:g}" if heard else "-"
        print(
            f"| {_length(row.minutes)} dictation | {row.path} | {_pace(row)} "
            f"| {len(row.timings)} | {p50:.1f} | {p95:.1f} | {seen} |"
        )
    print(
        "\nStreamed: from Stop pressed (the last chunk spoken, not yet sent) to ready. Whole "
        f"file: from Submit (upload included) to ready. Target: <= {TARGET_SECONDS:g} s p50."
    )


def print_together(rows: list[Row]) -> None:
    count = len(rows[0].timings)
    print(
        f"| {count} at once (2 cores, 2 workers) | path | pace | p50 s | p95 s | max s "
        "| audio s heard per wall s (offered) | wall / audio | last ready after the last Stop s |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        timings = row.timings
        p50, p95 = p50_p95([t.wait for t in timings])
        audio = sum(t.audio_seconds for t in timings)
        wall = max(t.ready for t in timings) - min(t.started for t in timings)
        heard = audio / wall
        # Offered: what N clinicians speaking at this pace give the box each wall second; an
        # upload offers everything at once.
        offered = f"{count * row.pace:g}" if row.pace is not None else "all at once"
        # What was left to do when the last clinician stopped (or submitted), in wall seconds.
        drain = max(t.ready for t in timings) - max(t.stopped for t in timings)
        print(
            f"| {_length(row.minutes)} dictations | {row.path} | {_pace(row)} | {p50:.1f} "
            f"| {p95:.1f} | {max(t.wait for t in timings):.1f} | {heard:.1f} ({offered}) "
            f"| {wall / audio:.3f} | {drain:.0f} |"
        )
    print("\nStop -> ready by order of Stop (s), where the queue falls behind:")
    for row in rows:
        ordered = sorted(row.timings, key=lambda t: t.stopped)
        late = next((i + 1 for i, t in enumerate(ordered) if t.wait > TARGET_SECONDS), None)
        verdict = (
            f"past {TARGET_SECONDS:g} s from the {_ordinal(late)} to stop"
            if late
            else f"all within {TARGET_SECONDS:g} s"
        )
        waits = ", ".join(f"{t.wait:.0f}" for t in ordered)
        print(f"- {_length(row.minutes)}, {row.path}, {_pace(row)}: {waits} ({verdict})")


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def default_runs(minutes: float, pace: float) -> int:
    """Three runs of a dictation spoken in 20 s or less, one of anything longer: speaking the
    long ones is what makes the bench take minutes."""
    return 3 if minutes * 60 / pace <= 20 else 1


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    for flag, default, what in (
        ("--realtime", [1.0], "streamed at real time, one at a time"),
        ("--fast", [1.0, 5.0, 20.0], "streamed at --pace, one at a time"),
        ("--together", [1.0], "streamed --at-once at each --together-paces"),
    ):
        # nargs="*": the flag alone (no lengths) leaves that part out.
        parser.add_argument(
            flag, type=float, nargs="*", default=default, metavar="MINUTES", help=f"lengths {what}"
        )
    parser.add_argument("--pace", type=float, default=4.0, help="the fast pace (default 4x)")
    parser.add_argument(
        "--together-paces",
        type=float,
        nargs="+",
        default=[4.0, 1.0],
        metavar="PACE",
        help="paces for --together (default 4x, then real time)",
    )
    parser.add_argument("--at-once", type=int, default=10, help="clinicians at once")
    parser.add_argument("--runs", type=int, help="runs of each one-at-a-time length")
    parser.add_argument("--chunk-seconds", type=float, default=CHUNK_SECONDS)
    parser.add_argument("--no-whole", action="store_true", help="leave the whole-file path out")
    return parser.parse_args(argv)


def run(clinician: Clinician, args: argparse.Namespace) -> tuple[list[Row], list[Row]]:
    """The grid: each length one at a time (streamed at each pace asked, then whole), then
    each --together length N at once (streamed, then whole)."""
    single: list[Row] = []
    for minutes in sorted(set(args.realtime) | set(args.fast)):
        wav = speech_wav(minutes * 60)
        paces = [1.0] * (minutes in args.realtime) + [args.pace] * (minutes in args.fast)
        for pace in paces:
            send = partial(clinician.stream, wav, pace, args.chunk_seconds)
            runs = args.runs or default_runs(minutes, pace)
            single.append(_row(minutes, pace, one_at_a_time(send, runs)))
        if not args.no_whole:
            # As many uploads as the fast stream of this length had runs.
            runs = args.runs or default_runs(minutes, args.pace)
            single.append(_row(minutes, None, one_at_a_time(partial(clinician.upload, wav), runs)))
    together: list[Row] = []
    for minutes in args.together:
        wav = speech_wav(minutes * 60)
        for pace in args.together_paces:
            send = partial(clinician.stream, wav, pace, args.chunk_seconds)
            spread = args.chunk_seconds / pace
            together.append(_row(minutes, pace, all_at_once(send, args.at_once, spread)))
        if not args.no_whole:
            # Spread as the fastest stream's starts were.
            spread = args.chunk_seconds / max(args.together_paces)
            send = partial(clinician.upload, wav)
            together.append(_row(minutes, None, all_at_once(send, args.at_once, spread)))
    return single, together


def _row(minutes: float, pace: float | None, timings: list[Timing]) -> Row:
    row = Row(minutes, "streamed" if pace is not None else "whole file", pace, timings)
    _progress(row)
    return row


def _progress(row: Row) -> None:
    # On stderr, so that stdout holds only the tables.
    waits = ", ".join(f"{t.wait:.1f}" for t in row.timings)
    how = row.path if row.pace is None else f"{row.path} at {_pace(row)}"
    count = len(row.timings)
    print(f"  {count} x {_length(row.minutes)}, {how}: {waits} s", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    began = time.monotonic()
    with (
        tempfile.TemporaryDirectory() as workdir,
        run_model_server() as models,
        serve_appliance(
            Path(workdir), speech_url=models.speech_url, llm_url=models.llm_url, workers="2"
        ) as served,
    ):
        served.add_user("alice", "clinician", PASSWORD)
        single, together = run(sign_in(served.base), args)
    if single:
        print_one_at_a_time(single)
    if together:
        print()
        print_together(together)
    print(f"\n(bench.streaming took {(time.monotonic() - began) / 60:.1f} minutes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
