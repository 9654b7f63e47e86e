"""A stand-in OpenAI-compatible LLM for pipeline tests: it answers the router's schema with the
first allowed section and records what it was asked. The real model is exercised against the
same contract in tests/model_server/test_model_server_run.py.

Asked for the writer's schema (`{"text": ...}`, appliance.drafting.rewrite), it answers the rewrite
scripted in `rewrites` for the incoming sentence, or the sentence unchanged."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.served_app import free_port


@dataclass
class FakeLLM:
    base_url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    rewrites: dict[str, str] = field(default_factory=dict)  # dictated sentence -> rewrite
    writer_delay: float = 0.0  # seconds before answering the writer (a stalled model)

    def asked(self, kind: str) -> list[dict[str, Any]]:
        """The requests for the router ("section") or the writer ("text"), by their schema."""
        return [r for r in self.requests if kind in _schema(r)["properties"]]


def wait_until_started(
    server: uvicorn.Server, thread: threading.Thread, seconds: float = 30
) -> None:
    """Wait for `server`, run on `thread`, to listen: a clear failure if the thread died (the port
    taken, say) or it is not up within `seconds`, rather than a wait without end."""
    deadline = time.monotonic() + seconds
    while not server.started:
        assert thread.is_alive(), "the server thread ended before it started listening"
        assert time.monotonic() < deadline, f"the server did not start within {seconds} s"
        time.sleep(0.01)


def _schema(body: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = body["response_format"]["json_schema"]["schema"]
    return schema


@contextmanager
def fake_llm() -> Iterator[FakeLLM]:
    port = free_port()
    state = FakeLLM(f"http://127.0.0.1:{port}/v1")

    async def chat(request: Request) -> Response:
        body = await request.json()
        state.requests.append(body)
        schema = _schema(body)
        if "text" in schema["properties"]:
            await asyncio.sleep(state.writer_delay)
            sentence = body["messages"][-1]["content"]
            answer = {"text": state.rewrites.get(sentence, sentence)}
        else:
            answer = {"section": schema["properties"]["section"]["enum"][0]}
        return JSONResponse({"choices": [{"message": {"content": json.dumps(answer)}}]})

    async def models(_request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "fake", "object": "model"}]})

    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
        ]
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until_started(server, thread)
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(timeout=5)
