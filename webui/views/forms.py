"""Reading posted forms, which the route guard has already read (`webui.posted`)."""

from __future__ import annotations

from starlette.requests import Request

from appliance.access import NotFound
from appliance.numbers import whole_number
from speech_io.upload import Upload
from webui.posted import posted_of


def form_fields(request: Request, *names: str) -> dict[str, str]:
    """The named fields, "" for any the form did not send."""
    fields = posted_of(request).fields
    return {name: fields.get(name, "") for name in names}


def uploaded(request: Request) -> Upload | None:
    """The multipart form as read in memory, or None when the form was not multipart."""
    return posted_of(request).upload


def safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect after sign-in is a phishing tool."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def row_id(raw: object) -> int:
    """A numeric id from the address, or NotFound (appliance.numbers says why not int())."""
    text = str(raw)
    number = whole_number(text) if text == text.strip() else None
    if number is None:
        raise NotFound(text[:64])
    return number
