from __future__ import annotations

import pytest

from model_server.llm_front import translate_response_format

SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}


def test_json_schema_becomes_llama_cpps_json_object_with_schema() -> None:
    body = {
        "model": "m",
        "messages": [],
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": SCHEMA}},
    }
    assert translate_response_format(body)["response_format"] == {
        "type": "json_object",
        "schema": SCHEMA,
    }
    assert body["response_format"]["type"] == "json_schema", "the caller's dict is not mutated"


@pytest.mark.parametrize(
    "response_format", [None, {"type": "text"}, {"type": "json_object", "schema": SCHEMA}]
)
def test_other_requests_pass_unchanged(response_format: object) -> None:
    body = {"model": "m", "messages": [], "response_format": response_format}
    assert translate_response_format(body) == body


def test_a_json_schema_without_a_schema_is_refused() -> None:
    with pytest.raises(ValueError, match="schema"):
        translate_response_format(
            {"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}
        )


def test_an_oversized_request_is_cut_off_while_it_arrives() -> None:
    from starlette.testclient import TestClient

    from model_server.llm_front import MAX_BODY, create_llm_front

    client = TestClient(create_llm_front("http://127.0.0.1:9"))

    def body() -> object:
        for _ in range(MAX_BODY // 65_536 + 2):
            yield b" " * 65_536  # no Content-Length: only counting can stop it

    reply = client.post("/v1/chat/completions", content=body())  # type: ignore[arg-type]
    assert reply.status_code == 413
