"""`make bench-load`: the web tier under load, with Locust (headless) as the load client.

1. Load, per database: 50 clinicians (bench/load_clinician.py) with 1-3 s of think time browse,
   type dictations and poll their progress for 5 minutes against one `appliance serve` (one
   web process, 2 job workers) on SQLite, then on PostgreSQL. Per route: requests, errors
   (target 0), p50 and p99 (target for pages: p99 <= 100 ms on 2 cores); and the dictation jobs
   completed.
2. The saturation point, on PostgreSQL: 50, 100 and 200 users with no think time, 30 s each
   (statistics from the end of the ramp, so sign-in's burst is left out), against 1 and then 2
   web processes (`appliance serve --workers N`): requests/s and p99.

PostgreSQL comes from APPLIANCE_TEST_DATABASE_URL (scripts/start-test-postgres.sh starts one
and prints it); the bench works in a schema of its own there and drops it afterwards. Without
the URL the PostgreSQL parts are skipped, saying so.

The drafting model is tests/fake_llm.py's stand-in, an OpenAI-compatible LLM that answers at
once: this measures the web tier and the job queue, not a model. Locust, the stand-in and the
server share this machine's cores; on 2 cores the load client takes a real share of them, so
the figures are a floor for the server alone. Locust rounds response times above 100 ms to
10 ms, and above 1 s to 100 ms.

    python -m bench.load                                 # the whole run, about 15 minutes
    python -m bench.load --seconds 30 --step-seconds 10  # a smoke run

Prints tables; not a test.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from appliance import clock
from appliance.db import make_engine
from appliance.identity import accounts
from appliance.identity.passwords import hash_password
from appliance.records.clients import create_client
from appliance.roles import Role
from appliance.runtime import open_appliance
from appliance.settings import Settings
from tests.fake_llm import fake_llm
from tests.served_app import serve_appliance

LOCUSTFILE = Path(__file__).with_name("load_clinician.py")
REPO_ROOT = LOCUSTFILE.resolve().parents[1]
PASSWORD = "quiet-harbour-lantern-47"
CLIENTS_EACH = 3
PAGE_P99_TARGET_MS = 100
# Pages a person waits on (HTML); the POSTs and the JSON poll are not held to the target.
PAGES = {
    "/",
    "/login",
    "/clients",
    "/clients/{client_id}",
    "/clients/{client_id}/dictations/new",
    "/dictations/{dictation_id}",
    "/notes/to-sign",
}
# Enough connections for every user at once: the saturation point is about throughput, not
# about the 503s `max_connections` answers beyond its limit (by design).
SATURATION_MAX_CONNECTIONS = "1000"


@dataclass(frozen=True)
class Route:
    method: str
    name: str
    count: int
    failures: int
    p50: float
    p99: float
    per_second: float


@dataclass(frozen=True)
class Run:
    routes: list[Route]
    total: Route
    failures: list[tuple[str, str, str, int]]  # method, route, error, occurrences


@contextmanager
def own_schema(base_url: str) -> Iterator[str]:
    """`base_url` with its tables in a fresh schema of their own, dropped afterwards."""
    schema = f"bench_load_{uuid.uuid4().hex[:8]}"
    engine = make_engine(base_url)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def prepare(workdir: Path, database_url: str, count: int) -> list[str]:
    """`appliance init`, then `count` clinicians with CLIENTS_EACH clients each, made through
    the service layer (as a script would); their usernames."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_")},
        "APPLIANCE_DATA_DIR": str(workdir / "data"),
        "APPLIANCE_DATABASE_URL": database_url,
    }
    subprocess.run(
        [sys.executable, "-m", "appliance.cli", "init"], env=env, check=True, capture_output=True
    )
    appliance = open_appliance(Settings(data_dir=workdir / "data", database_url=database_url))
    password_hash = hash_password(PASSWORD)  # once: argon2 is slow on purpose
    names = [f"clinician{n:03d}" for n in range(count)]
    with appliance.unit_of_work() as db:
        for name in names:
            user = accounts.create_user(db, name, Role.CLINICIAN, by=None)
            user.password_hash, user.password_changed_at = password_hash, clock.utcnow()
            db.add(user)
            for c in range(CLIENTS_EACH):
                create_client(
                    db, appliance.keys, accounts.actor_for(user), display_name=f"Client {name} {c}"
                )
    appliance.engine.dispose()
    return names


def run_locust(
    base: str,
    names: list[str],
    *,
    users: int,
    seconds: int,
    think: str,
    ramp_seconds: float,
    reset_after_ramp: bool,
    workdir: Path,
) -> Run:
    prefix = workdir / f"locust-{uuid.uuid4().hex[:6]}"
    env = {
        **os.environ,
        "LOAD_ACCOUNTS": ",".join(names),
        "LOAD_PASSWORD": PASSWORD,
        "LOAD_THINK": think,
        # The Locust user imports the form's values from tests/, from any working directory.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        base,
        "--users",
        str(users),
        "--spawn-rate",
        f"{users / ramp_seconds:.1f}",
        "--run-time",
        f"{int(seconds + (ramp_seconds if reset_after_ramp else 0))}s",
        "--stop-timeout",
        "5",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    if reset_after_ramp:
        command.append("--reset-stats")
    with (workdir / "locust.log").open("a") as log:
        # Locust exits 1 when any request failed: the table shows those.
        subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    return read_run(prefix)


def read_run(prefix: Path) -> Run:
    routes, total = [], None
    with Path(f"{prefix}_stats.csv").open() as stats:
        for row in csv.DictReader(stats):
            route = Route(
                method=row["Type"],
                name=row["Name"],
                count=int(row["Request Count"]),
                failures=int(row["Failure Count"]),
                p50=float(row["50%"] if row["50%"] != "N/A" else 0),
                p99=float(row["99%"] if row["99%"] != "N/A" else 0),
                per_second=float(row["Requests/s"]),
            )
            if row["Name"] == "Aggregated":
                total = route
            else:
                routes.append(route)
    assert total is not None, f"Locust wrote no totals to {prefix}_stats.csv"
    with Path(f"{prefix}_failures.csv").open() as failed:
        failures = [
            (r["Method"], r["Name"], r["Error"], int(r["Occurrences"]))
            for r in csv.DictReader(failed)
        ]
    return Run(routes, total, failures)


def jobs_by_state(base: str) -> dict[str, int]:
    """The dictation jobs by state, from /metrics (read from the database)."""
    metrics = httpx.get(f"{base}/metrics", timeout=30).text
    found = re.findall(r'^appliance_jobs\{state="(\w+)"\} (\S+)$', metrics, re.M)
    return {state: int(float(value)) for state, value in found}


def _is_page(route: Route) -> bool:
    return route.method == "GET" and route.name in PAGES


def print_load_table(title: str, run: Run, jobs: dict[str, int]) -> None:
    print(f"\n### {title}\n")
    print(
        f"| route | method | requests | errors | p50 ms | p99 ms | p99 <= {PAGE_P99_TARGET_MS} ms |"
    )
    print("|---|---|---:|---:|---:|---:|---|")
    for r in sorted(run.routes, key=lambda r: (r.name, r.method)):
        target = ("yes" if r.p99 <= PAGE_P99_TARGET_MS else "NO") if _is_page(r) else "-"
        print(
            f"| `{r.name}` | {r.method} | {r.count} | {r.failures} | {r.p50:.0f} | {r.p99:.0f} "
            f"| {target} |"
        )
    t = run.total
    print(
        f"| all | | {t.count} | {t.failures} | {t.p50:.0f} | {t.p99:.0f} | "
        f"{t.per_second:.1f} requests/s |"
    )
    in_progress = sum(n for s, n in jobs.items() if s not in ("ready", "failed"))
    print(
        f"\nDictation jobs: {sum(jobs.values())} submitted, {jobs.get('ready', 0)} completed "
        f"(ready), {jobs.get('failed', 0)} failed, {in_progress} still in progress at the end."
    )
    for method, name, error, times in run.failures:
        print(f"- error: {method} `{name}`: {error} ({times}x)")


def load_section(
    label: str, database_url: str, names: list[str], args: argparse.Namespace, workdir: Path
) -> None:
    with (
        fake_llm() as llm,
        serve_appliance(
            workdir, init=False, database_url=database_url, llm_url=llm.base_url, workers="2"
        ) as served,
    ):
        run = run_locust(
            served.base,
            names,
            users=args.users,
            seconds=args.seconds,
            think=args.think,
            ramp_seconds=5,
            reset_after_ramp=False,
            workdir=workdir,
        )
        time.sleep(2)  # the last drafts under way
        jobs = jobs_by_state(served.base)
    print_load_table(
        f"{label}: {args.users} clinicians, think time {args.think.replace(',', '-')} s, "
        f"{args.seconds} s, 1 web process, 2 job workers (fake LLM)",
        run,
        jobs,
    )


def saturation_section(
    database_url: str, names: list[str], args: argparse.Namespace, workdir: Path
) -> None:
    steps = [int(u) for u in args.saturation_users.split(",")]
    print(
        f"\n### Saturation: PostgreSQL, no think time, {args.step_seconds} s per step after a "
        f"5 s ramp, max_connections {SATURATION_MAX_CONNECTIONS} per process (fake LLM)\n"
    )
    print("| web processes | users | requests/s | errors | p50 ms | p99 ms | worst page p99 ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for processes in (1, 2):
        with (
            fake_llm() as llm,
            serve_appliance(
                workdir,
                init=False,
                database_url=database_url,
                llm_url=llm.base_url,
                workers="2",
                web_workers=str(processes),
                max_connections=SATURATION_MAX_CONNECTIONS,
            ) as served,
        ):
            for users in steps:
                run = run_locust(
                    served.base,
                    names,
                    users=users,
                    seconds=args.step_seconds,
                    think="0,0",
                    ramp_seconds=5,
                    reset_after_ramp=True,
                    workdir=workdir,
                )
                t = run.total
                worst_page = max((r.p99 for r in run.routes if _is_page(r)), default=0)
                print(
                    f"| {processes} | {users} | {t.per_second:.1f} | {t.failures} | {t.p50:.0f} "
                    f"| {t.p99:.0f} | {worst_page:.0f} |",
                    flush=True,
                )


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
        model = found.group(1) if found else model
    return (
        f"{os.cpu_count()} cores ({model}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seconds", type=int, default=300, help="length of each load run")
    parser.add_argument("--users", type=int, default=50, help="clinicians in the load runs")
    parser.add_argument("--think", default="1,3", help="think time between actions, LOW,HIGH s")
    parser.add_argument("--step-seconds", type=int, default=30, help="length of a saturation step")
    parser.add_argument("--saturation-users", default="50,100,200")
    args = parser.parse_args(argv)
    postgres_url = os.environ.get("APPLIANCE_TEST_DATABASE_URL", "")
    most_users = max(args.users, *(int(u) for u in args.saturation_users.split(",")))

    print(f"## make bench-load ({machine()})")
    print(
        "\nThe load client (Locust), the stand-in LLM and `appliance serve` share this "
        f"machine's {os.cpu_count()} cores: Locust's own CPU is taken from the server, so these "
        "figures are a floor for the server alone."
    )
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch) / "sqlite"
        names = prepare(workdir, "", most_users)
        load_section("SQLite", "", names, args, workdir)
    if not postgres_url:
        print(
            "\nPostgreSQL: skipped (set APPLIANCE_TEST_DATABASE_URL; "
            "scripts/start-test-postgres.sh starts one and prints it). The saturation section "
            "needs it too: several web processes need PostgreSQL."
        )
        return 0
    with tempfile.TemporaryDirectory() as scratch, own_schema(postgres_url) as database_url:
        workdir = Path(scratch) / "postgres"
        names = prepare(workdir, database_url, most_users)
        load_section("PostgreSQL", database_url, names, args, workdir)
        saturation_section(database_url, names, args, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
