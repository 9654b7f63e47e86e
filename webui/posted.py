"""The body of a state-changing request, read once by the route guard.

The guard has to read the body anyway to find the CSRF token in it. Keeping what it read on
the request lets views be plain synchronous functions (run in the threadpool) that never await
the body themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl

from starlette.requests import Request

from speech_io.upload import Upload, UploadTooLarge, read_body, read_upload


@dataclass(frozen=True)
class Posted:
    fields: dict[str, str]
    # Only for a multipart form (a dictation, which may carry a recording).
    upload: Upload | None = None


# What a form may send, unless its route allows more: enough for every form of the appliance
# but the few that carry a note or a recording. A bigger body is refused before it is read
# (413), so a request that is not even signed in cannot make the server buffer megabytes.
FORM_LIMIT = 64 * 1024


# What no column can store: NUL (PostgreSQL refuses it in text) and lone surrogates (UTF-8
# cannot encode them; a multipart body declared as UTF-7 decodes to them). Both were 500s
# (issue 11). No browser sends either, so they become U+FFFD, as invalid UTF-8 already does.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(text: str) -> str:
    return _UNSTORABLE.sub("\ufffd", text)


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The form is larger than this page accepts ({limit // 1024} KB).")
        self.limit = limit


async def _body(request: Request, limit: int) -> bytes:
    try:
        return await read_body(request, limit=limit)
    except UploadTooLarge:
        raise BodyTooLarge(limit) from None


async def read_posted(
    request: Request, *, limit: int = FORM_LIMIT, uploads: bool = False
) -> Posted:
    """The form, read within `limit` bytes (BodyTooLarge beyond); multipart only where the
    route takes `uploads` (UploadTooLarge / UploadInvalid for one that cannot be read)."""
    content_type = request.headers.get("content-type", "")
    if uploads and content_type.startswith("multipart/form-data"):
        # Parsed by our in-memory reader, never Starlette's (which spools files over 1 MB to
        # disk): multipart forms carry recordings.
        upload_limit = request.app.state.appliance.settings.max_upload_mb * 1024 * 1024
        upload = await read_upload(request, limit=upload_limit)
        upload = replace(
            upload,
            fields={_storable(k): _storable(v) for k, v in upload.fields.items()},
            filename=upload.filename and _storable(upload.filename),
        )
        posted = Posted(dict(upload.fields), upload)
    else:
        body = await _body(request, limit)
        fields: dict[str, str] = {}
        if content_type.startswith("application/x-www-form-urlencoded"):
            # Only the first value of a repeated name counts, as Starlette's form did.
            for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                fields.setdefault(_storable(name), _storable(value))
        posted = Posted(fields)
    request.state.posted = posted
    return posted


def posted_of(request: Request) -> Posted:
    posted: Posted = request.state.posted
    return posted
