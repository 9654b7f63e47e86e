"""The body of a state-changing request, read once by the route guard.

The guard has to read the body anyway to find the CSRF token in it. Keeping what it read on
the request lets views be plain synchronous functions (run in the threadpool) that never await
the body themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from speech_io.upload import Upload, read_upload


@dataclass(frozen=True)
class Posted:
    fields: dict[str, str]
    # Only for a multipart form (a dictation, which may carry a recording).
    upload: Upload | None = None


async def read_posted(request: Request) -> Posted:
    """Raises UploadTooLarge / UploadInvalid for a multipart body that cannot be read."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        # Parsed by our in-memory reader, never Starlette's (which spools files over 1 MB to
        # disk): multipart forms carry recordings.
        limit = request.app.state.appliance.settings.max_upload_mb * 1024 * 1024
        upload = await read_upload(request, limit=limit)
        posted = Posted(dict(upload.fields), upload)
    else:
        # A urlencoded form; any other body has no fields to offer.
        form = await request.form()
        posted = Posted({name: value for name, value in form.items() if isinstance(value, str)})
    request.state.posted = posted
    return posted


def posted_of(request: Request) -> Posted:
    posted: Posted = request.state.posted
    return posted
