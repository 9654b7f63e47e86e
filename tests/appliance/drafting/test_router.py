from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from appliance.drafting.router import LLMSectionClassifier
from appliance.inference.llm import LLMClient
from tests.fake_llm import wait_until_started
from tests.served_app import free_port

SECTIONS = [("data", "What happened."), ("plan", "What comes next.")]


@pytest.fixture
def fake_llm() -> Iterator[tuple[str, list[dict[str, Any]], list[str]]]:
    """An OpenAI-compatible endpoint that records requests and answers a scripted reply."""
    seen: list[dict[str, Any]] = []
    replies: list[str] = []

    async def chat(request: Request) -> Response:
        seen.append(await request.json())
        content = replies.pop(0) if replies else '{"section": "plan"}'
        return JSONResponse({"choices": [{"message": {"content": content}}]})

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])]),
            host="127.0.0.1",
            port=port,
            log_config=None,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until_started(server, thread)
    yield f"http://127.0.0.1:{port}/v1", seen, replies
    server.should_exit = True
    thread.join(timeout=5)


def test_it_asks_for_a_schema_constrained_section(
    fake_llm: tuple[str, list[dict[str, Any]], list[str]],
) -> None:
    url, seen, _ = fake_llm
    assert (
        LLMSectionClassifier(LLMClient(url, "m")).classify("Homework: walk daily.", SECTIONS)
        == "plan"
    )
    request = seen[0]
    schema = request["response_format"]["json_schema"]["schema"]
    assert request["response_format"]["type"] == "json_schema"
    assert schema["properties"]["section"]["enum"] == ["data", "plan"]
    assert request["temperature"] == 0


@pytest.mark.parametrize("reply", ['{"section": "diagnosis"}', "not json", '{"other": 1}'])
def test_an_answer_outside_the_list_counts_as_no_answer(
    fake_llm: tuple[str, list[dict[str, Any]], list[str]], reply: str
) -> None:
    url, _, replies = fake_llm
    replies.append(reply)
    assert LLMSectionClassifier(LLMClient(url, "m")).classify("x", SECTIONS) is None


def test_an_unreachable_model_counts_as_no_answer() -> None:
    router = LLMSectionClassifier(LLMClient(f"http://127.0.0.1:{free_port()}/v1", "m"))
    assert router.classify("x", SECTIONS) is None
