"""Prometheus metrics of the appliance. Labels never carry PHI, usernames or raw paths.

The counters and histograms below live in the memory of the process that counts them. Several
web processes (`appliance serve --workers N`) would each show Prometheus only their own share,
a different one at each scrape, so there each process keeps them in files instead
(prometheus_client's multiprocess mode) and a scrape sums the files of every process. The
gauges read from the database at scrape time (appliance.jobs.metrics and its kin) are one truth
already and are served beside these, once per scrape.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

# prometheus_client reads it when it is imported: it must be set before a process starts.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
MULTIPROCESS_DIR_NAME = "metrics-processes"

LOGIN_FAILURES = Counter(
    "appliance_login_failures_total", "Failed sign-in attempts (password or second factor)."
)
SIGN_IN_THROTTLED = Counter(
    "appliance_sign_in_throttled_total",
    "Credential form posts refused by throttling: by address, or by address and account.",
    ["scope"],
)
ACCOUNT_LOCKOUTS = Counter(
    "appliance_account_lockouts_total", "Accounts locked after repeated sign-in failures."
)
HTTP_REQUEST_DURATION = Histogram(
    "appliance_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template (never the raw path).",
    ["route", "method", "status"],
)
AUDIT_EVENTS = Counter(
    "appliance_audit_events_total",
    "Audit events written to the chain, by action and outcome.",
    ["action", "outcome"],
)
JOB_STAGE_SECONDS = Histogram(
    "appliance_job_stage_duration_seconds",
    "Time spent in each stage of a dictation job.",
    ["stage"],
    buckets=(0.5, 1, 2, 5, 10, 20, 40, 80, 160, 320, 640),
)
EMERGENCY_ACCESS = Counter(
    "appliance_emergency_access_total",
    "Emergency access events: grants made and each use of one.",
    ["event"],
)
NOTE_STATEMENTS_CHANGED = Histogram(
    "appliance_note_statements_changed_ratio",
    "At signing: the share of the draft's statements kept verbatim, edited, moved or deleted, "
    "and statements added, relative to the statements drafted (one observation per kind).",
    ["change"],
    buckets=(0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0),
)
STORAGE_FULL = Counter(
    "appliance_storage_full_total",
    "Saves refused because the data folder's storage is full (ENOSPC), by what was being saved. "
    "Nothing was half-written; the person was told.",
    ["what"],
)


def count_across_processes(data_dir: Path) -> Path:
    """Before starting several web processes: an empty private folder for their counts, named
    in the environment the processes started after this inherit.

    Emptied at each start: a count left by an earlier run would be added in (Prometheus takes
    the counters' restart as the fall it is). The files hold metric names, label values and
    numbers only, never PHI."""
    folder = data_dir / MULTIPROCESS_DIR_NAME
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700, parents=True)
    os.environ[MULTIPROCESS_ENV] = str(folder)
    return folder


def counted_metrics() -> bytes:
    """The counters and histograms in Prometheus' text format: this process's own, or with
    several processes the sum over every one of them."""
    if not os.environ.get(MULTIPROCESS_ENV):
        return generate_latest(REGISTRY)
    # A registry of its own per scrape, as prometheus_client's multiprocess mode asks: the
    # default one holds this process's share only (and the process and GC collectors, which
    # have no meaning summed over processes).
    summed = CollectorRegistry()
    MultiProcessCollector(summed)  # type: ignore[no-untyped-call]
    return generate_latest(summed)
