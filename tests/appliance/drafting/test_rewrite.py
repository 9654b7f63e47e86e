"""The writer stage against an OpenAI-compatible stand-in: what it accepts, what it keeps."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from appliance.drafting.draft import RISK, Draft, Statement, build_draft
from appliance.drafting.rewrite import LLMStatementWriter, rewrite_draft
from appliance.inference.llm import LLMClient
from tests.fake_llm import FakeLLM, fake_llm
from tests.served_app import free_port

MOOD = "She said her PHQ-9 was 14 and her mood is a bit better."
MEDS = "She is still taking sertraline 50 mg every morning."
HOMEWORK = "She did not finish the thought record this week."
RISK_SENTENCE = "She denies SI and HI."
TRANSCRIPT = " ".join([MOOD, MEDS, HOMEWORK, RISK_SENTENCE])


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLM]:
    with fake_llm() as running:
        yield running


@pytest.fixture
def llm(server: FakeLLM) -> FakeLLM:
    server.requests.clear()
    server.rewrites.clear()
    server.writer_delay = 0.0
    return server


def _rewritten(llm: FakeLLM, rewrites: dict[str, str]) -> Draft:
    llm.rewrites.update(rewrites)
    draft = build_draft(TRANSCRIPT, "cbt", "soap")
    return rewrite_draft(draft, LLMStatementWriter(LLMClient(llm.base_url, "fake")))


def _statement(draft: Draft, source: str) -> Statement:
    return next(
        s for group in draft.sections.values() for s in group if s.provenance[0].text == source
    )


def test_a_faithful_rewrite_is_accepted_and_keeps_its_provenance(llm: FakeLLM) -> None:
    better = "The client reported a PHQ-9 score of 14; her mood is a bit better."
    draft = _rewritten(llm, {MOOD: better})
    statement = _statement(draft, MOOD)
    assert statement.text == better
    assert statement.written_by == "model" and statement.source_text == MOOD
    span = statement.provenance[0]
    assert TRANSCRIPT[span.start : span.end] == MOOD
    assert draft.rewrite is not None and draft.rewrite["accepted"] == 1
    document = draft.as_json()
    written = [s for group in document["sections"].values() for s in group if s["text"] == better]
    assert written[0]["written_by"] == "model" and written[0]["source_text"] == MOOD
    assert document["rewrite"]["rejected"] == 0 and "rewriting" in document["timings"]


@pytest.mark.parametrize(
    ("source", "unfaithful"),
    [
        (MOOD, "The client reported a PHQ-9 score and slightly improved mood."),  # number
        (MEDS, "The client continues her morning medication, 50 mg."),  # medication
        (HOMEWORK, "The client finished the thought record this week."),  # negation
    ],
    ids=["number", "medication", "negation"],
)
def test_a_rewrite_that_drops_a_fact_is_rejected_and_the_sentence_kept(
    llm: FakeLLM, source: str, unfaithful: str
) -> None:
    draft = _rewritten(llm, {source: unfaithful})
    statement = _statement(draft, source)
    assert statement.text == source and statement.written_by == "clinician"
    assert statement.source_text is None
    assert draft.rewrite is not None
    assert draft.rewrite["rejected"] == 1 and draft.rewrite["reasons"] == {"dropped": 1}


@pytest.mark.parametrize(
    ("source", "invented"),
    [
        (MEDS, "The client is still taking sertraline 50 mg every morning and lorazepam."),
        (MOOD, "The client said her PHQ-9 was 14, GAD-7 12, and her mood is a bit better."),
    ],
    ids=["medication", "score"],
)
def test_a_rewrite_that_invents_a_fact_is_rejected(
    llm: FakeLLM, source: str, invented: str
) -> None:
    draft = _rewritten(llm, {source: invented})
    assert _statement(draft, source).text == source
    assert draft.rewrite is not None and draft.rewrite["reasons"] == {"invented": 1}


def test_a_risk_statement_whose_polarity_flips_is_rejected(llm: FakeLLM) -> None:
    draft = _rewritten(llm, {RISK_SENTENCE: "The client reports SI and HI."})
    assert [s.text for s in draft.sections[RISK]] == [RISK_SENTENCE]
    assert draft.rewrite is not None and draft.rewrite["reasons"] == {"polarity": 1}


def test_with_the_writer_down_the_draft_is_verbatim_and_complete() -> None:
    draft = build_draft(TRANSCRIPT, "cbt", "soap")
    down = LLMStatementWriter(LLMClient(f"http://127.0.0.1:{free_port()}/v1", "fake"))
    rewritten = rewrite_draft(draft, down)
    assert rewritten.sections == draft.sections and rewritten.flags == draft.flags
    assert rewritten.rewrite is not None and rewritten.rewrite["writer_unavailable"] is True
    assert rewritten.rewrite["no_answer"] == 4 and rewritten.rewrite["accepted"] == 0


def test_a_stalled_writer_is_asked_once_and_the_draft_kept_verbatim(llm: FakeLLM) -> None:
    llm.writer_delay = 2.0
    draft = build_draft(TRANSCRIPT, "cbt", "soap")
    stalled = LLMStatementWriter(LLMClient(llm.base_url, "fake"), patience=0.3)
    rewritten = rewrite_draft(draft, stalled)
    assert rewritten.sections == draft.sections
    assert len(llm.asked("text")) == 1, "kept asking a writer that times out"


def test_the_writer_asks_for_a_json_schema_only_at_the_configured_url(
    llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    posted: list[str] = []
    real_post = httpx.post

    def recording_post(url: str, **kwargs: Any) -> httpx.Response:
        posted.append(url)
        return real_post(url, **kwargs)

    monkeypatch.setattr(httpx, "post", recording_post)
    _rewritten(llm, {})
    assert posted and all(url == f"{llm.base_url}/chat/completions" for url in posted)
    requests = llm.asked("text")
    assert len(requests) == 4
    for request in requests:
        assert request["response_format"]["type"] == "json_schema"
        schema = request["response_format"]["json_schema"]["schema"]
        assert schema["properties"] == {"text": {"type": "string"}}
        assert request["temperature"] == 0 and 0 < request["max_tokens"] <= 512


def test_the_logs_hold_no_sentence_text(llm: FakeLLM, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    _rewritten(llm, {MOOD: "The client reported a PHQ-9 score of 14.", MEDS: "Lorazepam."})
    rewrite_draft(
        build_draft(TRANSCRIPT, "cbt", "soap"),
        LLMStatementWriter(LLMClient(f"http://127.0.0.1:{free_port()}/v1", "fake")),
    )
    logged = "\n".join(record.getMessage() for record in caplog.records).lower()
    assert "rewrite:" in logged and "unavailable (connecterror)" in logged
    for phrase in ("phq", "sertraline", "lorazepam", "thought record", "denies", "the client"):
        assert phrase not in logged
