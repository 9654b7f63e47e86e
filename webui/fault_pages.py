"""What a person sees when the box itself is at fault (appliance.faults): the database out of
reach (503) or the storage full (507). A clear page, never a traceback or a 500; a script that
asked for JSON (the recorder, the note editor's autosave) gets the same words as JSON.

Rendered without the database: the navigation's counts are left out, since the fault may be
the database's.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from appliance.faults import database_unreachable, report_storage_full, storage_full
from webui.pages import render

DATABASE_UNREACHABLE_TITLE = "The database cannot be reached"
DATABASE_UNREACHABLE = (
    "The appliance cannot reach its database; your work is not lost. What was saved stays "
    "saved. Try again in a minute."
)
NOT_SENT = (
    "What you just sent was not saved: go back (your browser keeps the form as you filled it) "
    "and send it again in a minute."
)
STORAGE_FULL_TITLE = "Storage full"
STORAGE_FULL = (
    "The appliance's storage is full; what you just sent was not saved. What was saved before "
    "stays saved. Tell your administrator."
)
DICTATION_NOT_SAVED = (
    "The appliance's storage is full; your dictation was not saved. Tell your administrator, "
    "and send it again once space is freed: what you typed is still here (an uploaded file "
    "must be chosen again)."
)


def wants_json(request: Request) -> bool:
    return request.headers.get("accept", "").startswith("application/json")


def _fault_page(
    request: Request, title: str, message: str, status_code: int, kept_text: str = ""
) -> Response:
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status_code)
    context = {"title": title, "message": message, "kept_text": kept_text}
    return render(request, "fault.html", context, status_code, nav_counts=False)


def database_unreachable_page(request: Request) -> Response:
    message = DATABASE_UNREACHABLE
    if request.method not in ("GET", "HEAD"):
        message = f"{message} {NOT_SENT}"
    return _fault_page(request, DATABASE_UNREACHABLE_TITLE, message, 503)


def storage_full_page(
    request: Request, message: str = STORAGE_FULL, kept_text: str = ""
) -> Response:
    """507 Insufficient Storage. `kept_text`: what the person typed, shown back to copy when
    not even the form could be shown again."""
    return _fault_page(request, STORAGE_FULL_TITLE, message, 507, kept_text)


def fault_response(request: Request, exc: BaseException) -> Response | None:
    """The page for a fault of the box, or None for any other error (a bug: the 500 page)."""
    if database_unreachable(exc):
        return database_unreachable_page(request)
    if storage_full(exc):
        report_storage_full("request")
        return storage_full_page(request)
    return None
