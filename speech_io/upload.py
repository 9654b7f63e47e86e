"""Reading a multipart upload into memory, with a hard size limit enforced while it streams.

Starlette's own parser spools files over 1 MB to a temporary file on disk; a dictation is PHI,
so this parser keeps it in memory (bounded by the limit) and never touches the disk. Oversized
requests are refused from Content-Length before any byte is read, or as soon as the stream
passes the limit when the length is not declared. Used by the speech service and by the web UI's
dictation upload (it is plain HTTP plumbing, with no knowledge of either); `read_body` applies
the same limit to any other body (the web UI's forms, the LLM front's requests).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

FIELD_LIMIT = 64 * 1024  # the text fields are short (typed notes are capped at 50,000 characters)


class UploadTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The upload is larger than {limit // (1024 * 1024)} MB.")
        self.limit = limit


class UploadInvalid(Exception):
    """Not multipart/form-data, or a body that does not parse as one."""


@dataclass(frozen=True)
class Upload:
    fields: dict[str, str]
    file_bytes: bytes
    filename: str | None
    content_type: str | None


class _InMemoryParser(MultiPartParser):
    def __init__(self, request: Request, stream: AsyncGenerator[bytes, None], limit: int) -> None:
        super().__init__(
            request.headers, stream, max_files=1, max_fields=16, max_part_size=FIELD_LIMIT
        )
        self.spool_max_size = limit + 1  # never rolls over to disk below the request limit


async def _limited(chunks: AsyncIterator[bytes], limit: int) -> AsyncGenerator[bytes, None]:
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > limit:
            raise UploadTooLarge(limit)
        yield chunk


def _refuse_declared(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise UploadTooLarge(limit)


async def read_body(request: Request, *, limit: int) -> bytes:
    """The whole body, in memory, within `limit` bytes: UploadTooLarge from Content-Length
    before any byte is read, or as soon as the stream passes the limit (a declared length can
    lie, or be missing)."""
    _refuse_declared(request, limit)
    return b"".join([chunk async for chunk in _limited(request.stream(), limit)])


async def read_upload(request: Request, *, limit: int) -> Upload:
    _refuse_declared(request, limit)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UploadInvalid("Send the form as multipart/form-data.")
    parser = _InMemoryParser(request, _limited(request.stream(), limit), limit)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise UploadInvalid(f"The multipart body could not be read: {exc}") from exc
    try:
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return Upload(fields, b"", None, None)
        data = await upload.read()
        return Upload(fields, data, upload.filename, upload.content_type)
    finally:
        await form.close()
