"""A thin OpenAI-compatible front for llama-cpp-python's server (CPU profile).

The appliance asks for schema-constrained JSON the standard way, `response_format:
{"type": "json_schema", "json_schema": {"name", "schema"}}`, which vLLM honours. llama-cpp-python's
server silently ignores that form and constrains only with `{"type": "json_object", "schema"}`
(measured: SmolLM2 then answered in free prose). This front rewrites the one form into the other
and passes everything else through untouched, so the appliance speaks one protocol to both.
It keeps nothing and logs no content.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from model_server.openai_errors import error_response
from speech_io.upload import UploadTooLarge, read_body

logger = logging.getLogger("model_server.llm_front")
MAX_BODY = 8 * 1024 * 1024
HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}


def translate_response_format(body: dict[str, Any]) -> dict[str, Any]:
    """OpenAI `json_schema` -> llama.cpp `json_object` + schema; anything else unchanged."""
    response_format = body.get("response_format")
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return body
    spec = response_format.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
        raise ValueError("response_format.json_schema.schema must be a JSON Schema object")
    return {**body, "response_format": {"type": "json_object", "schema": spec["schema"]}}


def create_llm_front(backend_url: str, api_key: str = "", backend_key: str = "") -> Starlette:
    """`api_key`: what callers of the front must send; `backend_key`: what the front sends to
    llama.cpp's server (its own key, never the callers')."""
    headers = {"Authorization": f"Bearer {backend_key}"} if backend_key else {}
    client = httpx.AsyncClient(
        base_url=backend_url, headers=headers, timeout=httpx.Timeout(600, connect=5)
    )

    def authorised(request: Request) -> bool:
        if not api_key:
            return True
        sent = request.headers.get("authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {api_key}".encode())

    async def chat_completions(request: Request) -> Response:
        if not authorised(request):
            return error_response(401, "Missing or wrong API key.", code="invalid_api_key")
        try:
            # Counted as it arrives: an oversized request is cut off, not buffered whole.
            raw = await read_body(request, limit=MAX_BODY)
        except UploadTooLarge:
            return error_response(413, "The request body is too large.")
        try:
            body = translate_response_format(json.loads(raw))
        except (ValueError, TypeError) as exc:
            return error_response(400, f"Invalid request: {exc}", param="response_format")
        upstream = client.build_request("POST", "/v1/chat/completions", json=body)
        try:
            reply = await client.send(upstream, stream=True)
        except httpx.TransportError:
            return error_response(503, "The language model is not answering yet; retry shortly.")
        headers = {k: v for k, v in reply.headers.items() if k.lower() not in HOP_HEADERS}
        logger.info("chat completion: upstream %s", reply.status_code)
        return StreamingResponse(
            reply.aiter_raw(),
            status_code=reply.status_code,
            headers=headers,
            background=BackgroundTask(reply.aclose),
        )

    async def passthrough_get(request: Request) -> Response:
        if not authorised(request):
            return error_response(401, "Missing or wrong API key.", code="invalid_api_key")
        try:
            reply = await client.get(request.url.path)
        except httpx.TransportError:
            return error_response(503, "The language model is not answering yet; retry shortly.")
        return Response(reply.content, reply.status_code, media_type="application/json")

    async def health(_request: Request) -> Response:
        try:
            reply = await client.get("/v1/models", timeout=5)
        except httpx.TransportError:
            return JSONResponse({"status": "starting"}, status_code=503)
        ok = reply.status_code == 200
        return JSONResponse({"status": "ok" if ok else "starting"}, status_code=200 if ok else 503)

    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", passthrough_get, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ],
        lifespan=asynccontextmanager(lifespan),
    )
