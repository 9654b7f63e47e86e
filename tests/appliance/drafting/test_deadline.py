"""Drafting's time limit: checked between sentences, so a stuck draft stops instead of hanging."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from appliance.drafting import pipeline
from appliance.drafting.deadline import Deadline, DraftingTimedOut
from appliance.drafting.draft import build_draft
from appliance.drafting.rewrite import rewrite_draft
from tests.appliance.drafting.readers import Undecided

# No cue decides these, so each one is a question for the router.
UNDECIDED = " ".join(f"Sentence number {n} is here." for n in range(100))


class SlowRouter:
    """A router that takes `seconds` for every answer, like a model that has become too slow."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.asked = seconds, 0

    def classify(self, sentence: str, sections: Sequence[tuple[str, str]]) -> str | None:
        self.asked += 1
        time.sleep(self.seconds)
        return sections[0][0]


class CountingWriter:
    def __init__(self) -> None:
        self.asked = 0

    def rewrite(self, sentence: str, section_title: str, modality: str) -> str | None:
        self.asked += 1
        return f"The client said: {sentence}"


def test_a_draft_past_its_deadline_stops_between_sentences_with_drafting_timed_out() -> None:
    router = SlowRouter(0.05)  # 100 sentences: 5 s without a limit
    started = time.monotonic()
    with pytest.raises(DraftingTimedOut) as raised:
        build_draft(
            UNDECIDED, "cbt", "soap", router, deadline=Deadline.after(0.3), concepts=Undecided()
        )
    assert time.monotonic() - started < 2.0
    assert router.asked < 20, "kept asking the router after the deadline"
    assert str(raised.value) == "drafting ran past its time limit"  # fixed: no dictation text


def test_a_draft_within_its_deadline_is_the_draft_without_one() -> None:
    with_limit = build_draft(UNDECIDED, "emdr", "birp", deadline=Deadline.after(60)).as_json()
    without = build_draft(UNDECIDED, "emdr", "birp").as_json()
    with_limit.pop("timings"), without.pop("timings")
    assert with_limit == without


def test_past_the_deadline_the_writer_is_not_asked_and_the_draft_is_verbatim() -> None:
    draft = build_draft(UNDECIDED, "cbt", "dap")
    writer = CountingWriter()
    rewritten = rewrite_draft(draft, writer, deadline=Deadline(time.monotonic() - 1))
    assert writer.asked == 0
    assert [s.text for _, s in rewritten.statements()] == [s.text for _, s in draft.statements()]
    assert rewritten.rewrite is not None and rewritten.rewrite["writer_unavailable"] is True
    assert rewritten.rewrite["no_answer"] == len(list(draft.statements()))


def test_the_pipeline_fails_a_draft_past_its_deadline_even_with_a_writer() -> None:
    with pytest.raises(DraftingTimedOut):
        pipeline.draft(
            UNDECIDED,
            "cbt",
            "soap",
            SlowRouter(0.0),
            CountingWriter(),
            deadline=Deadline(time.monotonic() - 1),
        )
