"""The speech service's HTTP API: OpenAI's audio transcription endpoints (thin layer)."""

from __future__ import annotations

import hmac
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from model_server.engines.base import Transcript
from model_server.openai_errors import APIError, error_response
from model_server.speech_service import Request as SpeechRequest
from model_server.speech_service import SpeechService
from speech_io.protocol import MAX_VOCABULARY_CHARS, RESPONSE_FORMATS, SpeechErrorCode
from speech_io.upload import Upload, UploadInvalid, UploadTooLarge, read_upload

STARTED = int(time.time())


def _authorised(request: Request, api_key: str) -> bool:
    if not api_key:
        return True
    sent = request.headers.get("authorization", "")
    return hmac.compare_digest(sent.encode(), f"Bearer {api_key}".encode())


def _body(transcript: Transcript, response_format: str) -> Response:
    if response_format == "text":
        return PlainTextResponse(transcript.text)
    if response_format == "json":
        return JSONResponse({"text": transcript.text})
    segments: list[dict[str, Any]] = [
        {"id": i, "start": round(s.start, 3), "end": round(s.end, 3), "text": s.text}
        for i, s in enumerate(transcript.segments)
    ]
    return JSONResponse(
        {
            "task": "transcribe",
            "language": transcript.language,
            "duration": round(transcript.duration, 3),
            "text": transcript.text,
            "segments": segments,
        }
    )


def _bad_key() -> Response:
    return error_response(401, "Missing or wrong API key.", code=SpeechErrorCode.INVALID_API_KEY)


async def _read(request: Request, limit: int) -> Upload:
    try:
        upload = await read_upload(request, limit=limit)
    except UploadTooLarge as exc:
        raise APIError(413, str(exc), param="file", code=SpeechErrorCode.FILE_TOO_LARGE) from exc
    except UploadInvalid as exc:
        raise APIError(400, str(exc)) from exc
    if upload.filename is None and not upload.file_bytes:
        raise APIError(400, "The request has no `file` field.", param="file")
    return upload


def create_speech_app(service: SpeechService) -> Starlette:
    settings = service.settings
    limit = settings.max_upload_mb * 1024 * 1024

    async def transcriptions(request: Request) -> Response:
        if not _authorised(request, settings.api_key):
            return _bad_key()
        try:
            upload = await _read(request, limit)
            model = upload.fields.get("model", "")
            if model != service.model_id:
                raise APIError(
                    404,
                    f"Model {model!r} is not served here; use {service.model_id!r}.",
                    param="model",
                    code=SpeechErrorCode.MODEL_NOT_FOUND,
                )
            response_format = upload.fields.get("response_format") or "json"
            if response_format not in RESPONSE_FORMATS:
                raise APIError(
                    400,
                    f"response_format must be one of {', '.join(RESPONSE_FORMATS)}.",
                    param="response_format",
                )
            vocabulary = upload.fields.get("vocabulary") or None
            if vocabulary is not None and len(vocabulary) > MAX_VOCABULARY_CHARS:
                raise APIError(
                    400,
                    f"vocabulary is limited to {MAX_VOCABULARY_CHARS} characters.",
                    param="vocabulary",
                )
            transcript = await run_in_threadpool(
                service.transcribe,
                SpeechRequest(
                    data=upload.file_bytes,
                    filename=upload.filename,
                    content_type=upload.content_type,
                    language=upload.fields.get("language") or None,
                    prompt=upload.fields.get("prompt") or None,
                    vocabulary=vocabulary,
                ),
            )
        except APIError as error:
            return error.response()
        return _body(transcript, response_format)

    async def models(request: Request) -> Response:
        if not _authorised(request, settings.api_key):
            return _bad_key()
        entry = {"id": service.model_id, "object": "model", "created": STARTED, "owned_by": "local"}
        return JSONResponse({"object": "list", "data": [entry]})

    async def health(_request: Request) -> Response:
        return JSONResponse(
            {"status": "ok", "engine": service.engine.name, "model": service.model_id}
        )

    async def metrics(_request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/v1/audio/transcriptions", transcriptions, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )
