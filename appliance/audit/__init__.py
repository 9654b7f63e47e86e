"""The tamper-evident audit trail: recording events, the HMAC chain, verifying it, the auditor's
queries, its metrics.
"""
