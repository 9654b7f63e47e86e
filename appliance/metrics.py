"""Prometheus metrics of the appliance. Labels never carry PHI, usernames or raw paths."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

LOGIN_FAILURES = Counter(
    "appliance_login_failures_total", "Failed sign-in attempts (password or second factor)."
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
EMERGENCY_ACCESS = Counter(
    "appliance_emergency_access_total",
    "Emergency access events: grants made and each use of one.",
    ["event"],
)
