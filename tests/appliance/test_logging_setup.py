from __future__ import annotations

import io
import logging

from appliance.logging_setup import RedactingFormatter, configure_logging


def test_tracebacks_keep_the_location_but_not_the_message() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("INSERT failed for client Ophelia Marchbanks, DOB 1970-01-02")
        except ValueError:
            logger.exception("Exception in ASGI application")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "Exception in ASGI application" in text
    assert "test_logging_setup.py" in text and "builtins.ValueError" in text
    assert "Ophelia" not in text and "1970-01-02" not in text


def test_model_service_requests_are_not_logged_one_by_one() -> None:
    configure_logging("INFO")
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert logging.getLogger("httpx").isEnabledFor(logging.WARNING)
