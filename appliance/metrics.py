"""Prometheus metrics of the appliance. Labels never carry PHI, usernames or raw paths."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
