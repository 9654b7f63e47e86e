"""`make drill-faults`: issue 11's fault proof, against real processes. Prints tables; not a test.

Three drills, one after the other, on loopback:

1. Kills. `model-server run --profile cpu` (faster-whisper base and SmolLM2-135M in llama.cpp:
   the zero-config models) and `appliance serve` (SQLite, 2 job workers, a 10 s job lease). A
   clinician sends dictations without pause, each for a client of its own: typed notes, and
   every fourth a short recording. Meanwhile one of the two processes, picked at random, is
   SIGKILLed at a random moment and started again, 20 times; then the queue drains and
   `appliance audit verify` runs.
2. PostgreSQL outage. `appliance serve` on a private PostgreSQL cluster (initdb in a temporary
   folder, its own port; never the shared one), dictations flowing; the cluster is stopped for
   about 10 s and started again. /healthz and a page are polled throughout.
3. A full disk. The data folder is a small tmpfs (`mount -t tmpfs`, as root), filled up with a
   file; a recording and typed notes are sent; then the filler is removed and a dictation sent
   again. Where mounting is refused, the ENOSPC tests (fault injection) run instead, and the
   table says so.

What the kill drill counts, precisely:
- acknowledged: the appliance answered the dictation form with its 303 (the clinician saw the
  progress page). A send whose answer was cut off by a kill is "unanswered": the appliance may
  have stored it or not; the drill never sends it again, so either is fine, twice is not.
- lost: an acknowledged dictation with no row, or one that is neither ready nor failed once the
  queue has drained. A failed one must carry a reason (its status message).
- duplicated: a submission (a client of its own) with more than one dictation row.
- processed twice: a dictation with more than one committed `dictation.transcribe` or
  `dictation.draft` (allowed) in the audit chain, or more than one note. A stage that a kill cut
  short and a worker redid after the lease is not processed twice: the attempt that was killed
  committed nothing.
- half-written files: `*.partial` files in the audio folder. A kill between the sealed write and
  the commit can leave a whole `.sealed` file without a row; its key was rolled back, so nothing
  can open it (appliance.records.dictations), and the table counts those apart.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.served_app import LoopbackBrowser, free_port

ROOT = Path(__file__).resolve().parents[1]
AUDIO = ROOT / "tests" / "fixtures" / "audio"
PASSWORD = "quiet-harbour-lantern-47"
PYTHON = sys.executable
LEASE_SECONDS = "10"
OUTAGE_TEXT = "cannot reach its database"
FULL_TEXT = "storage is full"
TYPED_NOTES = (
    "Client reports sleeping better since starting the diary. Plan: continue the sleep diary.",
    "She practised paced breathing in session. Homework: breathing twice a day.",
    "Client described an argument with his brother. We reviewed the thought record.",
)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed")
    return found


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _answers(url: str, status: int = 200) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == status
    except httpx.HTTPError:
        return False


def _port_open(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
        return True
    except httpx.ConnectError:
        return False
    except httpx.HTTPError:
        return True


# --- the processes ---------------------------------------------------------------------------


class _Killable:
    """A service process the drill kills outright and stops politely at the end."""

    process: subprocess.Popen[bytes] | None = None

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class ModelServer(_Killable):
    """`model-server run --profile cpu` on fixed ports, so the appliance's URLs stay valid."""

    def __init__(self, workdir: Path) -> None:
        self.ports = {n: free_port() for n in ("SPEECH_PORT", "LLM_PORT", "LLM_BACKEND_PORT")}
        self.speech_url = f"http://127.0.0.1:{self.ports['SPEECH_PORT']}/v1"
        self.llm_url = f"http://127.0.0.1:{self.ports['LLM_PORT']}/v1"
        self.log = workdir / "model-server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> float:
        started = time.monotonic()
        # The services of a killed supervisor end on their own (SIGTERM on its death), but may
        # finish a request first: wait for their ports.
        deadline = time.monotonic() + 60
        while any(_port_open(p) for p in self.ports.values()):
            if time.monotonic() > deadline:
                raise RuntimeError("the killed model-server's services still hold their ports")
            time.sleep(0.2)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MODEL_SERVER_")},
            **{f"MODEL_SERVER_{k}": str(v) for k, v in self.ports.items()},
            "PYTHONUNBUFFERED": "1",
        }
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [PYTHON, "-m", "model_server.cli", "run", "--profile", "cpu"],
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        self.starts += 1
        deadline = time.monotonic() + 240
        while self.log.read_text(errors="replace").count("llm ready: ") < self.starts:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("model-server did not start; see " + str(self.log))
            time.sleep(0.2)
        return time.monotonic() - started


class Serve(_Killable):
    """`appliance init` once, then `appliance serve` (started again after each kill)."""

    def __init__(self, workdir: Path, data_dir: Path, **settings: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"serve-{self.port}.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_")},
            "APPLIANCE_DATA_DIR": str(data_dir),
            "APPLIANCE_PORT": str(self.port),
            **{f"APPLIANCE_{name.upper()}": value for name, value in settings.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PYTHON, "-m", "appliance.cli", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )

    def init(self) -> None:
        done = self.cli("init")
        if done.returncode != 0:
            raise RuntimeError("appliance init failed:\n" + done.stdout + done.stderr)
        added = self.cli(
            "user", "add", "alice", "--role", "clinician", "--password-stdin", stdin=PASSWORD + "\n"
        )
        if added.returncode != 0:
            raise RuntimeError("user add failed:\n" + added.stdout + added.stderr)

    def start(self) -> float:
        started = time.monotonic()
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [PYTHON, "-m", "appliance.cli", "serve"],
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        deadline = time.monotonic() + 90
        while not _answers(f"{self.base}/healthz"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("appliance serve did not start; see " + str(self.log))
            time.sleep(0.1)
        return time.monotonic() - started

    def tracebacks(self) -> int:
        """Tracebacks in serve's log: a fault must reach nobody as one, the log included."""
        return self.log.read_text(errors="replace").count("Traceback")

    def audit_verify(self) -> tuple[bool, str]:
        done = self.cli("audit", "verify")
        lines = (done.stdout or done.stderr).strip().splitlines()
        return done.returncode == 0, lines[-1] if lines else ""


def _signed_in(serve: Serve) -> LoopbackBrowser:
    browser = LoopbackBrowser(serve.base)
    reply = browser.post("/login", {"username": "alice", "password": PASSWORD}, "/login")
    assert reply.status_code == 303, reply.text[:300]
    return browser


# --- the clinician who keeps sending dictations ----------------------------------------------


@dataclass
class Submission:
    number: int
    kind: str  # typed | audio
    client_id: str
    outcome: str = ""  # acknowledged | unanswered | refused <status>
    dictation_id: str | None = None
    typed_text: str = ""


@dataclass
class Submitter:
    """Sends a dictation every `pause` seconds, each for a new client, until stopped. A send
    refused before it reached the appliance (serve down: connection refused) is tried again;
    one whose answer was lost is never sent again."""

    base: str
    pause: float
    audio_every: int = 4
    submissions: list[Submission] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    browser: LoopbackBrowser | None = None
    # Pages that refused a form, by status and whether they said why (sent again later).
    refusals: Counter[str] = field(default_factory=Counter)

    def _refused(self, reply: httpx.Response) -> None:
        self.refusals[_said(reply)] += 1

    def _browser(self) -> LoopbackBrowser:
        if self.browser is None:
            browser = LoopbackBrowser(self.base)
            reply = browser.post("/login", {"username": "alice", "password": PASSWORD}, "/login")
            if reply.status_code != 303:
                raise httpx.TransportError(f"sign-in answered {reply.status_code}")
            self.browser = browser
        return self.browser

    def _until_done(self, action: Callable[[], Any]) -> Any:
        """`action` again until it works or the drill stops: it is safe to repeat."""
        while not self.stopping.is_set():
            try:
                return action()
            except (httpx.HTTPError, AssertionError, KeyError, IndexError):
                time.sleep(0.3)
        return None

    def _new_client(self, number: int) -> str | None:
        def add() -> str:
            browser = self._browser()
            page = browser.get("/clients/new")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            if page.status_code != 200 or token is None:
                self._refused(page)
                raise AssertionError(page.status_code)
            created = browser._remember(
                browser.http.post(
                    "/clients",
                    data={
                        "csrf_token": token.group(1),
                        "display_name": f"Drill {number:04d}",
                        "external_id": "",
                        "date_of_birth": "",
                    },
                    headers=browser.cookie_header(),
                )
            )
            if created.status_code != 303:
                self._refused(created)
                raise AssertionError(created.status_code)
            return str(created.headers["location"]).split("/")[2].split("?")[0]

        result: str | None = self._until_done(add)
        return result

    def _send(self, submission: Submission) -> None:
        browser = self._browser()
        form = browser.dictation_form(submission.client_id)
        files: dict[str, Any]
        if submission.kind == "audio":
            files = {"file": ("hello.m4a", (AUDIO / "hello.m4a").read_bytes(), "audio/mp4")}
        else:
            files = {"file": ("", b"", "application/octet-stream")}
            form["typed_text"] = submission.typed_text
        while not self.stopping.is_set():
            try:
                reply = browser.http.post(
                    f"/clients/{submission.client_id}/dictations",
                    data=form,
                    files=files,
                    headers=browser.cookie_header(),
                )
            except (httpx.ConnectError, httpx.WriteError):
                time.sleep(0.3)  # it never reached the appliance: send it again
                continue
            except httpx.HTTPError:
                submission.outcome = "unanswered"
                return
            if reply.status_code == 303:
                submission.outcome = "acknowledged"
                submission.dictation_id = reply.headers["location"].rsplit("/", 1)[1]
            else:
                self._refused(reply)
                submission.outcome = f"refused {reply.status_code}"
            return

    def run(self) -> None:
        number = len(self.submissions)
        while not self.stopping.is_set():
            number += 1
            client_id = self._new_client(number)
            if client_id is None:
                return
            kind = "audio" if number % self.audio_every == 0 else "typed"
            text = f"Drill note {number}. {TYPED_NOTES[number % len(TYPED_NOTES)]}"
            submission = Submission(number, kind, client_id, typed_text=text)
            self._until_done(lambda s=submission: self._send(s))  # type: ignore[misc]
            if submission.outcome:
                self.submissions.append(submission)
            self.stopping.wait(self.pause)

    @contextlib.contextmanager
    def running(self) -> Iterator[Submitter]:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.stopping.set()
            thread.join(timeout=60)


# --- reading the outcome ---------------------------------------------------------------------


@dataclass
class Outcome:
    acknowledged: int = 0
    typed: int = 0
    audio: int = 0
    refused: int = 0
    unanswered: int = 0
    unanswered_stored: int = 0
    ready: int = 0
    failed: int = 0
    failed_without_reason: int = 0
    lost: int = 0
    duplicated: int = 0
    processed_twice: int = 0
    half_written: int = 0
    orphan_sealed: int = 0
    fallback_drafts: int = 0


def _final_states(browser: LoopbackBrowser, ids: list[str]) -> dict[str, str]:
    poll = {**browser.cookie_header(), "X-Background-Poll": "1"}
    states = {}
    for dictation_id in ids:
        reply = browser.http.get(f"/dictations/{dictation_id}/status", headers=poll)
        states[dictation_id] = reply.json()["state"] if reply.status_code == 200 else "missing"
    return states


def _drain(serve: Serve, ids: list[str], limit: float) -> tuple[float, dict[str, str]]:
    """Wait until every dictation is ready or failed; the seconds it took, and the states."""
    started = time.monotonic()
    browser = _signed_in(serve)
    try:
        while True:
            states = _final_states(browser, ids)
            pending = [i for i, s in states.items() if s not in ("ready", "failed")]
            if not pending or time.monotonic() - started > limit:
                return time.monotonic() - started, states
            time.sleep(1.0)
    finally:
        browser.http.close()


def _rows(query: Callable[[str], list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "dictations": query("select id, client_id, state, status_message from dictations"),
        "events": query(
            "select action, object_id from audit_events where outcome = 'allowed' "
            "and action in ('dictation.transcribe', 'dictation.draft')"
        ),
        "notes": query("select dictation_id from notes"),
    }


def _sqlite_query(path: Path) -> Callable[[str], list[tuple[Any, ...]]]:
    def query(sql: str) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return list(db.execute(sql).fetchall())

    return query


def _postgres_query(url: str) -> Callable[[str], list[tuple[Any, ...]]]:
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")

    def query(sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(conninfo) as db:
            return list(db.execute(sql).fetchall())  # type: ignore[arg-type]

    return query


def _judge(
    submissions: list[Submission],
    rows: dict[str, list[tuple[Any, ...]]],
    audio_dir: Path | None,
) -> Outcome:
    out = Outcome()
    by_client: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows["dictations"]:
        by_client.setdefault(row[1], []).append(row)
    committed = Counter((action, object_id) for action, object_id in rows["events"])
    notes = Counter(d for (d,) in rows["notes"])
    for submission in submissions:
        found = by_client.get(submission.client_id, [])
        if len(found) > 1:
            out.duplicated += 1
        if submission.outcome == "unanswered":
            out.unanswered += 1
            out.unanswered_stored += len(found) == 1
        elif submission.outcome.startswith("refused"):
            out.refused += 1
            continue
        elif submission.outcome == "acknowledged":
            out.acknowledged += 1
            out.typed += submission.kind == "typed"
            out.audio += submission.kind == "audio"
            if not any(row[0] == submission.dictation_id for row in found):
                out.lost += 1
                continue
        for dictation_id, _client, state, message in found:
            if state == "ready":
                out.ready += 1
            elif state == "failed":
                out.failed += 1
                out.failed_without_reason += not message
            else:
                out.lost += 1  # stored, and never finished
            twice = (
                committed[("dictation.transcribe", dictation_id)] > 1
                or committed[("dictation.draft", dictation_id)] > 1
                or notes[dictation_id] > 1
            )
            out.processed_twice += twice
    if audio_dir is not None and audio_dir.exists():
        live = {row[0] for row in rows["dictations"]}
        for path in audio_dir.iterdir():
            if path.suffix == ".partial":
                out.half_written += 1
            elif path.stem not in live:
                out.orphan_sealed += 1
    return out


# --- drill 1: kills --------------------------------------------------------------------------


@dataclass
class KillReport:
    kills: Counter[str]
    restart_seconds: list[float]
    in_flight: list[int]
    outcome: Outcome
    drain_seconds: float
    verify_ok: bool
    verify_line: str
    tracebacks: int


def drill_kills(workdir: Path, models: ModelServer, kills: int, seed: int) -> KillReport:
    rng = random.Random(seed)
    data_dir = workdir / "kills-data"
    serve = Serve(
        workdir,
        data_dir,
        speech_url=models.speech_url,
        llm_url=models.llm_url,
        workers="2",
        job_lease_seconds=LEASE_SECONDS,
    )
    serve.init()
    serve.start()
    done: Counter[str] = Counter()
    restart_seconds = []
    in_flight = []  # jobs claimed by a worker at each kill
    query = _sqlite_query(data_dir / "appliance.db")
    submitter = Submitter(serve.base, pause=0.8)
    with submitter.running():
        time.sleep(3)
        for n in range(1, kills + 1):
            time.sleep(rng.uniform(1.0, 5.0))
            targets: list[Serve | ModelServer] = [serve, models]
            target = rng.choice(targets)
            name = "serve" if target is serve else "model-server"
            (claimed,) = query(
                "select count(*) from dictations where claimed_at is not null "
                "and state in ('transcribing', 'drafting')"
            )[0]
            in_flight.append(int(claimed))
            target.kill()
            restart_seconds.append(target.start())
            done[name] += 1
            _log(
                f"kill {n}/{kills}: {name} SIGKILLed and restarted "
                f"({restart_seconds[-1]:.1f} s); {len(submitter.submissions)} sent"
            )
        time.sleep(2)
    submissions = submitter.submissions
    if submitter.browser is not None:
        submitter.browser.http.close()
    ids = [row[0] for row in query("select id from dictations")]
    _log(f"draining {len(ids)} dictations")
    drain_seconds, _states = _drain(serve, ids, limit=300)
    serve.stop()
    verify_ok, verify_line = serve.audit_verify()
    outcome = _judge(submissions, _rows(query), data_dir / "audio")
    return KillReport(
        done,
        restart_seconds,
        in_flight,
        outcome,
        drain_seconds,
        verify_ok,
        verify_line,
        serve.tracebacks(),
    )


# --- drill 2: PostgreSQL stopped and started -------------------------------------------------


class PrivatePostgres:
    """A throwaway cluster of the Debian PostgreSQL binaries, owned by `postgres`, on its own
    port and socket folder: stopping it disturbs no other database on the machine."""

    def __init__(self) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not found:
            raise RuntimeError("no PostgreSQL binaries under /usr/lib/postgresql")
        if os.geteuid() != 0 or shutil.which("runuser") is None:
            raise RuntimeError("needs root (to run PostgreSQL as the postgres user)")
        self.bin = found[-1].parent
        self.folder = Path(tempfile.mkdtemp(prefix="fault-drill-pg-"))
        shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://appliance@127.0.0.1:{self.port}/appliance"

    def _as_postgres(self, *argv: str) -> None:
        subprocess.run(
            [_tool("runuser"), "-u", "postgres", "--", *argv],
            check=True,
            capture_output=True,
            cwd=self.folder,
        )

    def create(self) -> None:
        self._as_postgres(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "appliance",
            "--auth=trust",
            "-E",
            "UTF8",
        )
        self.start()
        self._as_postgres(
            str(self.bin / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "appliance",
            "appliance",
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "log"),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"
        )

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class OutageReport:
    skipped: str = ""
    outage_seconds: float = 0.0
    healthz_polls: int = 0
    healthz_503: int = 0
    page_polls: int = 0
    page_clear_503: int = 0
    page_other: Counter[str] = field(default_factory=Counter)
    healthz_back_seconds: float = 0.0
    resume_seconds: float = 0.0
    burst_done_seconds: float = 0.0
    burst_unfinished: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    drain_seconds: float = 0.0
    outcome: Outcome = field(default_factory=Outcome)
    verify_ok: bool = False
    verify_line: str = ""
    tracebacks: int = 0


BURST = 6


def _burst(browser: LoopbackBrowser, count: int) -> list[str]:
    """`count` typed dictations sent at once for one new client; their ids."""
    client_id = browser.add_client("Burst")
    ids = []
    for n in range(count):
        form = browser.dictation_form(client_id)
        reply = browser.http.post(
            f"/clients/{client_id}/dictations",
            data={**form, "typed_text": f"Burst note {n}. {TYPED_NOTES[n % len(TYPED_NOTES)]}"},
            files={"file": ("", b"", "application/octet-stream")},
            headers=browser.cookie_header(),
        )
        assert reply.status_code == 303, reply.status_code
        ids.append(reply.headers["location"].rsplit("/", 1)[1])
    return ids


def drill_postgres(workdir: Path, models: ModelServer, outage: float) -> OutageReport:
    try:
        postgres = PrivatePostgres()
        postgres.create()
    except (RuntimeError, subprocess.CalledProcessError, LookupError) as exc:
        return OutageReport(skipped=f"skipped: {exc}")
    try:
        return _postgres_outage(workdir, models, postgres, outage)
    finally:
        postgres.remove()


def _postgres_outage(
    workdir: Path, models: ModelServer, postgres: PrivatePostgres, outage: float
) -> OutageReport:
    report = OutageReport()
    serve = Serve(
        workdir,
        workdir / "pg-data",
        database_url=postgres.url,
        speech_url=models.speech_url,
        llm_url=models.llm_url,
        workers="2",
        job_lease_seconds=LEASE_SECONDS,
    )
    serve.init()
    serve.start()
    watcher = _signed_in(serve)
    submitter = Submitter(serve.base, pause=1.0)
    try:
        with submitter.running():
            time.sleep(6)
            # A burst just before the stop, so that jobs are queued and in flight when it comes.
            burst = _burst(watcher, BURST)
            _log("stopping PostgreSQL")
            stopped = time.monotonic()
            postgres.stop()
            while time.monotonic() - stopped < outage:
                report.healthz_polls += 1
                with contextlib.suppress(httpx.HTTPError):
                    health = httpx.get(f"{serve.base}/healthz", timeout=5)
                    report.healthz_503 += health.status_code == 503
                report.page_polls += 1
                try:
                    page = watcher.get("/clients")
                    if page.status_code == 503 and OUTAGE_TEXT in page.text:
                        report.page_clear_503 += 1
                    else:
                        report.page_other[str(page.status_code)] += 1
                except httpx.HTTPError as exc:
                    report.page_other[type(exc).__name__] += 1
                time.sleep(0.5)
            _log("starting PostgreSQL")
            postgres.start()
            report.outage_seconds = time.monotonic() - stopped
            restarted = time.monotonic()
            while not _answers(f"{serve.base}/healthz"):
                time.sleep(0.1)
            report.healthz_back_seconds = time.monotonic() - restarted
            unfinished = set(burst)
            while unfinished and time.monotonic() - restarted < 180:
                states = _final_states(watcher, sorted(unfinished))
                finished = {i for i, s in states.items() if s in ("ready", "failed")}
                if finished and not report.resume_seconds:
                    report.resume_seconds = time.monotonic() - restarted
                unfinished -= finished
                time.sleep(0.25)
            report.burst_done_seconds = time.monotonic() - restarted
            report.burst_unfinished = len(unfinished)
            time.sleep(5)  # dictations flow again after the outage too
        ids = [row[0] for row in _postgres_query(postgres.url)("select id from dictations")]
        report.drain_seconds, _states = _drain(serve, ids, limit=240)
    finally:
        watcher.http.close()
        if submitter.browser is not None:
            submitter.browser.http.close()
        serve.stop()
    report.refusals = submitter.refusals
    report.verify_ok, report.verify_line = serve.audit_verify()
    report.tracebacks = serve.tracebacks()
    rows = _rows(_postgres_query(postgres.url))
    report.outcome = _judge(submitter.submissions, rows, workdir / "pg-data" / "audio")
    return report


# --- drill 3: the data folder full -----------------------------------------------------------


@dataclass
class FullDiskReport:
    method: str = ""
    audio_status: str = ""
    typed_status: str = ""
    typed_text_kept: str = ""
    page_status: str = ""
    half_written: int = 0
    rows_added: int = -1
    metric: str = ""
    log_line: bool = False
    after_freeing: str = ""
    verify_ok: bool = False
    verify_line: str = ""
    tracebacks: int = 0


def _fill(folder: Path) -> Path:
    """A file that takes every free byte of the filesystem."""
    filler = folder / "filler"
    chunk = b"\0" * (1 << 20)
    with filler.open("wb", buffering=0) as sink:
        while chunk:
            try:
                sink.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                chunk = chunk[: len(chunk) // 2]
    return filler


def drill_full_disk(workdir: Path, models: ModelServer, size_mb: int) -> FullDiskReport:
    mount = workdir / "full-data"
    mount.mkdir()
    try:
        mounted = subprocess.run(
            [
                _tool("mount"),
                "-t",
                "tmpfs",
                "-o",
                f"size={size_mb}m,mode=0700",
                "tmpfs",
                str(mount),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    except RuntimeError as exc:
        return _full_disk_by_injection(str(exc))
    if mounted.returncode != 0:
        return _full_disk_by_injection(mounted.stderr.strip())
    try:
        return _full_disk_on_tmpfs(workdir, models, mount, size_mb)
    finally:
        subprocess.run([_tool("umount"), "-l", str(mount)], check=False)


def _full_disk_by_injection(why: str) -> FullDiskReport:
    tests = [
        "tests/webui/test_storage_full_pages.py",
        "tests/appliance/records/test_whole_files.py",
    ]
    run = subprocess.run(
        [PYTHON, "-m", "pytest", "-q", *tests], capture_output=True, text=True, cwd=ROOT
    )
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-200:]
    return FullDiskReport(method=f"fault injection (mount refused: {why}): {summary}")


def _full_disk_on_tmpfs(
    workdir: Path, models: ModelServer, data_dir: Path, size_mb: int
) -> FullDiskReport:
    report = FullDiskReport(method=f"tmpfs of {size_mb} MiB, filled by a file (real ENOSPC)")
    serve = Serve(
        workdir, data_dir, speech_url=models.speech_url, llm_url=models.llm_url, workers="2"
    )
    serve.init()
    serve.start()
    browser = _signed_in(serve)
    database = _sqlite_query(data_dir / "appliance.db")
    try:
        client_id = browser.add_client("Full Disk")
        filler = _fill(data_dir)
        rows_before = len(database("select id from dictations"))
        form = browser.dictation_form(client_id)
        recording = browser.http.post(
            f"/clients/{client_id}/dictations",
            data=form,
            files={"file": ("hello.m4a", (AUDIO / "hello.m4a").read_bytes(), "audio/mp4")},
            headers=browser.cookie_header(),
        )
        report.audio_status = _said(recording)
        typed_text = "Typed while the disk was full: she kept the sleep diary every night."
        typed = browser.http.post(
            f"/clients/{client_id}/dictations",
            data={**form, "typed_text": typed_text},
            files={"file": ("", b"", "application/octet-stream")},
            headers=browser.cookie_header(),
        )
        report.typed_status = _said(typed)
        if typed_text not in typed.text:
            report.typed_text_kept = "TYPED TEXT NOT KEPT"
        elif 'id="dictation-form"' in typed.text:
            report.typed_text_kept = "the typed text is back in the form"
        else:
            report.typed_text_kept = "the typed text is on the page, to copy (no form: "
            report.typed_text_kept += "showing it needs a database write the full disk refused)"
        report.page_status = _said(browser.get(f"/clients/{client_id}"))
        audio = data_dir / "audio"
        report.half_written = sum(1 for p in audio.glob("*")) if audio.exists() else 0
        report.rows_added = len(database("select id from dictations")) - rows_before
        metrics = httpx.get(f"{serve.base}/metrics", timeout=10).text
        counted = re.findall(r'^appliance_storage_full_total\{what="(\w+)"\} (\S+)$', metrics, re.M)
        report.metric = ", ".join(f"{what}={float(n):g}" for what, n in counted) or "none"
        report.log_line = "storage full:" in serve.log.read_text(errors="replace")
        filler.unlink()
        again = browser.http.post(
            f"/clients/{client_id}/dictations",
            data={**browser.dictation_form(client_id), "typed_text": typed_text},
            files={"file": ("", b"", "application/octet-stream")},
            headers=browser.cookie_header(),
        )
        if again.status_code == 303:
            dictation_id = again.headers["location"].rsplit("/", 1)[1]
            _seconds, states = _drain(serve, [dictation_id], limit=120)
            report.after_freeing = f"303, then {states[dictation_id]}"
        else:
            report.after_freeing = _said(again)
    finally:
        browser.http.close()
        serve.stop()
    report.verify_ok, report.verify_line = serve.audit_verify()
    report.tracebacks = serve.tracebacks()
    return report


def _said(reply: httpx.Response) -> str:
    """The status and, for a fault page, whether it says what happened."""
    if reply.status_code in (503, 507):
        clear = FULL_TEXT in reply.text or OUTAGE_TEXT in reply.text
        return f"{reply.status_code} ({'clear message' if clear else 'NO clear message'})"
    return str(reply.status_code)


# --- the tables ------------------------------------------------------------------------------


def _print_kills(report: KillReport, llm: str) -> None:
    out = report.outcome
    restarts = report.restart_seconds or [0.0]
    kills = ", ".join(f"{name} {n}" for name, n in sorted(report.kills.items()))
    print(f"\n### Kills: SIGKILL at random moments while dictations flow ({llm}; SQLite)\n")
    print("| measure | result |")
    print("|---|---|")
    print(f"| kills (SIGKILL, each restarted) | {sum(report.kills.values())}: {kills} |")
    hits = sum(1 for n in report.in_flight if n)
    print(
        f"| kills that found jobs in a worker's hands | {hits} of {len(report.in_flight)} "
        f"({sum(report.in_flight)} jobs in all) |"
    )
    print(
        f"| restart to healthy | p50 {statistics.median(restarts):.1f} s, "
        f"max {max(restarts):.1f} s |"
    )
    print(
        f"| dictations submitted (acknowledged) | {out.acknowledged} "
        f"({out.typed} typed, {out.audio} recordings) |"
    )
    print(
        f"| ready / failed (with a reason) | {out.ready} / {out.failed} "
        f"({out.failed - out.failed_without_reason} with a reason) |"
    )
    print(
        f"| sends cut off by a kill (unanswered) | {out.unanswered}: "
        f"{out.unanswered_stored} stored once, "
        f"{out.unanswered - out.unanswered_stored} not stored |"
    )
    print(f"| refused with a page (not stored) | {out.refused} |")
    print(f"| lost | {out.lost} |")
    print(f"| duplicated (rows for one submission) | {out.duplicated} |")
    print(
        f"| processed twice (transcribe/draft committed twice, two notes) | {out.processed_twice} |"
    )
    print(f"| half-written files (`.partial`) | {out.half_written} |")
    print(f"| whole sealed files without a row (key rolled back) | {out.orphan_sealed} |")
    print(f"| queue drained after the last kill | {report.drain_seconds:.0f} s |")
    _print_aftermath(report)


def _print_aftermath(report: KillReport | OutageReport | FullDiskReport) -> None:
    """The rows every drill ends with: the audit chain, and serve's log."""
    verdict = "passes" if report.verify_ok else "FAILS"
    print(f"| `appliance audit verify` | {verdict}: {report.verify_line} |")
    print(f"| tracebacks in serve's log | {report.tracebacks} |")


def _print_outage(report: OutageReport) -> None:
    print("\n### PostgreSQL stopped and started while dictations flow\n")
    if report.skipped:
        print(f"PostgreSQL drill {report.skipped}")
        return
    out = report.outcome
    other = ", ".join(f"{k}: {n}" for k, n in report.page_other.items()) or "none"
    print("| measure | result |")
    print("|---|---|")
    print(f"| outage | {report.outage_seconds:.1f} s (pg_ctl stop -m fast ... start) |")
    print(f"| /healthz answered 503 | {report.healthz_503} of {report.healthz_polls} polls |")
    print(
        f"| /clients (signed in): the clear 503 page | {report.page_clear_503} of "
        f"{report.page_polls} polls (other answers: {other}) |"
    )
    print(f"| /healthz 200 again after PostgreSQL started | {report.healthz_back_seconds:.1f} s |")
    print(
        f"| jobs resumed: the first of {BURST} dictations sent just before the stop finished | "
        f"{report.resume_seconds:.1f} s after the start (job lease {LEASE_SECONDS} s) |"
    )
    print(
        f"| ... all {BURST} finished | {report.burst_done_seconds:.1f} s after the start "
        f"({report.burst_unfinished} unfinished) |"
    )
    print(
        f"| dictations acknowledged / ready / failed / lost / duplicated / processed twice | "
        f"{out.acknowledged} / {out.ready} / {out.failed} / {out.lost} / {out.duplicated} / "
        f"{out.processed_twice} |"
    )
    refusals = ", ".join(f"{n} x {said}" for said, n in report.refusals.items()) or "none"
    print(f"| the clinician's pages and forms refused (each sent again later) | {refusals} |")
    print(f"| queue drained at the end | {report.drain_seconds:.0f} s after the last send |")
    _print_aftermath(report)


def _print_full_disk(report: FullDiskReport) -> None:
    print("\n### The data folder full (ENOSPC)\n")
    print("| measure | result |")
    print("|---|---|")
    print(f"| how | {report.method} |")
    if not report.audio_status:
        return
    print(f"| a recording sent | {report.audio_status} |")
    print(f"| typed notes sent | {report.typed_status}; {report.typed_text_kept} |")
    print(f"| a page read meanwhile (the client) | {report.page_status} |")
    print(f"| files left in the audio folder (half-written or not) | {report.half_written} |")
    print(f"| dictation rows added | {report.rows_added} |")
    print(f"| metric `appliance_storage_full_total` | {report.metric} |")
    print(f"| log line `storage full: ...` (no PHI) | {'yes' if report.log_line else 'NO'} |")
    print(f"| after the filler was removed, typed notes sent | {report.after_freeing} |")
    _print_aftermath(report)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--outage", type=float, default=10.0, help="PostgreSQL down, seconds")
    parser.add_argument("--tmpfs-mb", type=int, default=24)
    parser.add_argument("--only", choices=["kills", "postgres", "full-disk"], action="append")
    args = parser.parse_args()
    only = set(args.only or ["kills", "postgres", "full-disk"])
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fault-drill-") as folder:
        workdir = Path(folder)
        models = ModelServer(workdir)
        _log("starting model-server (Whisper base, SmolLM2-135M in llama.cpp)")
        models.start()
        llm = "model-server --profile cpu: faster-whisper base, SmolLM2-135M in llama.cpp"
        try:
            kills = outage = full = None
            if "kills" in only:
                _log(f"kill drill: {args.kills} kills")
                kills = drill_kills(workdir, models, args.kills, args.seed)
            if "postgres" in only:
                _log("PostgreSQL outage drill")
                outage = drill_postgres(workdir, models, args.outage)
            if "full-disk" in only:
                _log("full disk drill")
                full = drill_full_disk(workdir, models, args.tmpfs_mb)
        finally:
            models.stop()
    if kills is not None:
        _print_kills(kills, llm)
    if outage is not None:
        _print_outage(outage)
    if full is not None:
        _print_full_disk(full)
    print(f"\n(drill time {time.monotonic() - started:.0f} s, {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
