"""`model-server run --profile cpu` as a person runs it: both services, via the `openai` client."""

from __future__ import annotations

import json
from collections.abc import Iterator

import jsonschema
import openai
import pytest

from model_server.wer import word_error_rate
from tests.model_server.conftest import dictations
from tests.served_app import Running, run_model_server

NOTE_SCHEMA = {
    "type": "object",
    "properties": {
        "mood": {"type": "string", "enum": ["low", "neutral", "elevated"]},
        "sleep_hours": {"type": "integer", "minimum": 0, "maximum": 24},
        "interventions": {
            "type": "array",
            "items": {"type": "string", "enum": ["thought record", "behavioral activation"]},
            "maxItems": 2,
        },
        "risk_addressed": {"type": "boolean"},
    },
    "required": ["mood", "sleep_hours", "interventions", "risk_addressed"],
    "additionalProperties": False,
}
PROMPT = (
    "Session summary: Dana reported sleeping five hours, low mood, we did a thought record. "
    "Return the structured fields."
)


@pytest.fixture(scope="module")
def model_server() -> Iterator[Running]:
    with run_model_server() as running:
        yield running


def test_it_prints_one_line_per_service_with_its_base_url(model_server: Running) -> None:
    speech_port = model_server.speech_url.split(":")[-1].split("/")[0]
    assert model_server.speech_url == f"http://127.0.0.1:{speech_port}/v1"
    assert model_server.llm_url.startswith("http://127.0.0.1:") and model_server.llm_url.endswith(
        "/v1"
    )


def test_speech_answers_the_openai_client(model_server: Running) -> None:
    dictation = dictations()[1]
    with openai.OpenAI(base_url=model_server.speech_url, api_key="x", max_retries=0) as client:
        assert [m.id for m in client.models.list()] == ["whisper-base"]  # the bundled default
        with dictation.audio.open("rb") as audio:
            text = client.audio.transcriptions.create(model="whisper-base", file=audio).text
    assert word_error_rate(dictation.script, text) <= 0.3


def test_the_llm_output_conforms_to_the_requested_json_schema(model_server: Running) -> None:
    with openai.OpenAI(base_url=model_server.llm_url, api_key="x", max_retries=0) as client:
        model = client.models.list().data[0].id
        assert model == "smollm2-135m-instruct"
        for seed in range(3):
            reply = client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": PROMPT}],
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "session_fields", "schema": NOTE_SCHEMA},
                },
                max_tokens=120,
                temperature=0.7,
                seed=seed,
            )
            content = reply.choices[0].message.content
            assert content is not None
            jsonschema.validate(json.loads(content), NOTE_SCHEMA)


def test_no_line_it_logged_holds_what_was_said_or_asked(model_server: Running) -> None:
    test_speech_answers_the_openai_client(model_server)
    test_the_llm_output_conforms_to_the_requested_json_schema(model_server)
    logged = "".join(model_server.lines).lower()
    for secret in ("dana", "thought record", "session summary", "diary card"):
        assert secret not in logged, secret
    assert "chat completion: upstream 200" in logged and "transcribed ogg/opus" in logged


def test_the_appliance_router_gets_a_valid_section_from_the_real_model(
    model_server: Running,
) -> None:
    from appliance.drafting.draft import build_draft
    from appliance.drafting.router import LLMSectionClassifier
    from appliance.inference.llm import LLMClient
    from tests.appliance.drafting.readers import Undecided

    router = LLMSectionClassifier(LLMClient(model_server.llm_url, "smollm2-135m-instruct"))
    sections = [("behavior", "What the client did."), ("plan", "What happens next.")]
    for sentence in ("The weather was grey.", "She arrived late and sat by the door."):
        assert router.classify(sentence, sections) in {"behavior", "plan"}
    # With a concept classifier that has no view, the cues place what they can and the model
    # the rest.
    draft = build_draft(
        "The weather was grey. Homework is two entries.",
        "cbt",
        "birp",
        router,
        concepts=Undecided(),
    )
    routed = {s.text: s.routed_by for v in draft.sections.values() for s in v}
    assert routed == {"The weather was grey.": "model", "Homework is two entries.": "cue"}


def test_the_llama_cpp_backend_refuses_whoever_comes_without_its_key(
    model_server: Running,
) -> None:
    """Any local user can reach a loopback port: without the key the front holds, the backend
    answers nothing (the front, tested above, reaches it with the key)."""
    import httpx

    models = f"{model_server.llm_backend_url}/models"
    assert httpx.get(models, timeout=10).status_code == 401
    assert httpx.get(models, headers={"Authorization": "Bearer x"}, timeout=10).status_code == 401
    chat = httpx.post(
        f"{model_server.llm_backend_url}/chat/completions",
        json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1},
        timeout=10,
    )
    assert chat.status_code == 401
    with openai.OpenAI(base_url=model_server.llm_url, api_key="x", max_retries=0) as client:
        assert [m.id for m in client.models.list()] == ["smollm2-135m-instruct"]


def test_only_the_backend_and_the_front_know_its_key_and_no_command_line_shows_it(
    model_server: Running,
) -> None:
    """/proc/<pid>/cmdline is readable by every local user, /proc/<pid>/environ by theirs."""
    from pathlib import Path

    supervisor = model_server.process.pid
    pids = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    assert len(pids) == 3  # speech, llm-backend, llm
    holders = {}
    for pid in pids:
        for line in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            if line.startswith((b"API_KEY=", b"LLM_BACKEND_KEY=")):
                holders[pid] = line.split(b"=", 1)[1]
    assert len(holders) == 2 and len(set(holders.values())) == 1, "the backend and its front"
    key = next(iter(holders.values()))
    assert len(key) >= 32
    for pid in pids:
        assert key not in Path(f"/proc/{pid}/cmdline").read_bytes()
