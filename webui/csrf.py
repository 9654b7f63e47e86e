"""CSRF tokens: HMAC of the session token (signed in) or of a pre-session cookie (signed out).

Deriving the token from the session instead of storing one keeps it bound to that session
(a new session, e.g. after log-in, gets a new token) without another table.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request

from appliance.identity.tokens import new_token
from speech_io.upload import read_upload

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


async def csrf_ok(request: Request) -> bool:
    """Raises UploadTooLarge / UploadInvalid for a multipart body that cannot be read."""
    sent = request.headers.get(HEADER_NAME)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        # Parsed by our in-memory reader, never Starlette's (which spools files over 1 MB to
        # disk): multipart forms carry recordings. The endpoint reuses the parsed upload.
        limit = request.app.state.appliance.settings.max_upload_mb * 1024 * 1024
        upload = await read_upload(request, limit=limit)
        request.state.upload = upload
        sent = sent or upload.fields.get(FIELD_NAME)
    elif sent is None and content_type.startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        value = form.get(FIELD_NAME)
        sent = value if isinstance(value, str) else None
    if not sent:
        return False
    if request.state.session_token is None and not request.cookies.get(PRESESSION_COOKIE):
        return False
    return hmac.compare_digest(sent, csrf_token(request))
