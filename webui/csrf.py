"""CSRF tokens: HMAC of the session token (signed in) or of a pre-session cookie (signed out).

Deriving the token from the session instead of storing one keeps it bound to that session
(a new session, e.g. after log-in, gets a new token) without another table.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.exceptions import HTTPException
from starlette.requests import Request

from appliance.audit.record import Outcome, record_event
from appliance.identity.tokens import new_token
from webui.posted import Posted

PRESESSION_COOKIE = "__Host-presession"
FIELD_NAME = "csrf_token"
HEADER_NAME = "x-csrf-token"


def _seed(request: Request) -> str:
    token: str | None = request.state.session_token
    if token is None:
        token = request.cookies.get(PRESESSION_COOKIE) or request.state.new_presession
    assert token is not None
    return token


def csrf_token(request: Request) -> str:
    secret: bytes = request.app.state.appliance.keys.web_secret
    return hmac.new(secret, b"csrf:" + _seed(request).encode(), hashlib.sha256).hexdigest()


def ensure_presession(request: Request) -> None:
    """Give a signed-out visitor a random cookie value to bind their form token to."""
    if request.state.session_token is None and not request.cookies.get(PRESESSION_COOKIE):
        request.state.new_presession = new_token()


def csrf_ok(request: Request, posted: Posted) -> bool:
    """Whether the token sent (header, or form field) is this session's.

    Raises HTTPException(400) for a token that is not ASCII: no page ever sent one, so the
    request is malformed rather than stale (hmac.compare_digest raises TypeError on non-ASCII
    text, which used to surface as a 500). The refusal is audited like any other CSRF denial.
    """
    sent = request.headers.get(HEADER_NAME)
    if posted.upload is not None:
        sent = sent or posted.fields.get(FIELD_NAME)
    elif sent is None:
        sent = posted.fields.get(FIELD_NAME)
    if not sent:
        return False
    if not sent.isascii():
        record_event("http.csrf", Outcome.DENIED, reason="malformed_csrf_token")
        raise HTTPException(400, "Bad request: the form's security token is malformed.")
    if request.state.session_token is None and not request.cookies.get(PRESESSION_COOKIE):
        return False
    return hmac.compare_digest(sent.encode(), csrf_token(request).encode())
