"""Small helpers for reading posted forms."""

from __future__ import annotations

from starlette.requests import Request


async def form_fields(request: Request, *names: str) -> dict[str, str]:
    upload = getattr(request.state, "upload", None)
    if upload is not None:  # a multipart form, already read in memory by the guard
        return {name: upload.fields.get(name, "") for name in names}
    form = await request.form()
    values = {}
    for name in names:
        value = form.get(name)
        values[name] = value if isinstance(value, str) else ""
    return values


def safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect after sign-in is a phishing tool."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"
