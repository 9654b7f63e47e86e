"""Verify the audit chain and record the verdict in the chain itself.

The verdict is an `audit.verify` event, so every process (the server's periodic check, an
operator's `appliance audit verify`) feeds the same `appliance_audit_chain_ok` and
`appliance_audit_last_verified_timestamp_seconds` metrics, which are read from the newest
such event (appliance.audit.metrics).
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine

from appliance.audit.chain import ChainReport, verify_chain
from appliance.audit.record import Outcome, record_by

logger = logging.getLogger("appliance.audit")
VERIFY_ACTION = "audit.verify"


def verify_and_record(engine: Engine, key: bytes) -> ChainReport:
    report = verify_chain(engine, key)
    if report.ok:
        record_by(None, VERIFY_ACTION, reason="intact")
    else:
        logger.error("audit chain broken at event %s: %s", report.first_bad_seq, report.problem)
        record_by(
            None,
            VERIFY_ACTION,
            Outcome.FAILED,
            object_type="audit_event",
            object_id=report.first_bad_seq,
            reason="broken",
        )
    return report
