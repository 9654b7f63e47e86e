"""The streamed-recording API as the page's script calls it: start, chunks, stop, in JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from appliance.runtime import Appliance
from tests.conftest import Browser
from tests.dictation_form import DICTATION_FORM
from tests.pcm import hello_pcm, split

CHUNKS = split(hello_pcm(), 1.0)
JSON = {"accept": "application/json"}


class Recorder:
    """What the browser's recorder does, over the test client."""

    def __init__(self, browser: Browser, client_id: str) -> None:
        self.browser, self.client_id = browser, client_id
        token = browser.form_token(f"/clients/{client_id}/dictations/new")
        self.headers = {**JSON, "x-csrf-token": token}

    def start(self, **fields: str) -> Any:
        form = {**DICTATION_FORM, "audio_format": "s16le-16k-mono", **fields}
        return self.browser.post(
            f"/clients/{self.client_id}/recordings", data=form, headers=self.headers
        )

    def chunk(self, dictation_id: str, sequence: int | str, audio: bytes) -> Any:
        return self.browser.post(
            f"/dictations/{dictation_id}/chunks",
            data={"sequence": str(sequence)},
            files={"file": ("chunk.pcm", audio, "application/octet-stream")},
            headers=self.headers,
        )

    def stop(self, dictation_id: str) -> Any:
        return self.browser.post(f"/dictations/{dictation_id}/stop", headers=self.headers)

    def status(self, dictation_id: str) -> Any:
        return self.browser.get(
            f"/dictations/{dictation_id}/status", headers={"x-background-poll": "1"}
        ).json()


@pytest.fixture
def alice(signed_in: Callable[[str], Browser]) -> Recorder:
    browser = signed_in("alice")
    return Recorder(browser, browser.add_client())


def _started(recorder: Recorder) -> str:
    started = recorder.start()
    assert started.status_code == 201, started.text
    return str(started.json()["id"])


def test_it_starts_a_recording_and_says_where_to_send_it(alice: Recorder) -> None:
    started = alice.start()
    assert started.status_code == 201
    body = started.json()
    dictation_id = body["id"]
    assert body == {
        "id": dictation_id,
        "location": f"/dictations/{dictation_id}",
        "chunks": f"/dictations/{dictation_id}/chunks",
        "stop": f"/dictations/{dictation_id}/stop",
        "live": f"/dictations/{dictation_id}/live",
        "next_sequence": 0,
    }
    assert alice.status(dictation_id)["state"] == "recording"


def test_a_start_with_a_bad_field_is_refused_with_the_fields_problem(alice: Recorder) -> None:
    refused = alice.start(session_date="2999-01-01")
    assert refused.status_code == 400 and "future" in refused.json()["error"]
    refused = alice.start(audio_format="webm")
    assert refused.status_code == 400 and "s16le-16k-mono" in refused.json()["error"]


def test_a_start_sent_again_resumes_the_same_recording(alice: Recorder) -> None:
    first = alice.start(submission="resend-me-0123456789")
    dictation_id = first.json()["id"]
    assert alice.chunk(dictation_id, 0, CHUNKS[0]).status_code == 201
    again = alice.start(submission="resend-me-0123456789").json()
    assert (again["id"], again["next_sequence"]) == (dictation_id, 1)


def test_chunks_are_acknowledged_in_order_and_a_resend_changes_nothing(
    alice: Recorder,
) -> None:
    dictation_id = _started(alice)
    first = alice.chunk(dictation_id, 0, CHUNKS[0])
    assert first.status_code == 201
    assert first.json() == {"sequence": 0, "next_sequence": 1, "received_seconds": 1.0}
    assert alice.chunk(dictation_id, 1, CHUNKS[1]).status_code == 201
    again = alice.chunk(dictation_id, 0, CHUNKS[0])
    assert again.status_code == 200 and again.json()["next_sequence"] == 2
    assert alice.status(dictation_id)["next_sequence"] == 2


def test_a_gap_is_refused_with_the_sequence_number_expected(alice: Recorder) -> None:
    dictation_id = _started(alice)
    alice.chunk(dictation_id, 0, CHUNKS[0])
    gap = alice.chunk(dictation_id, 3, CHUNKS[3])
    assert gap.status_code == 409
    body = gap.json()
    assert (body["reason"], body["expected_sequence"]) == ("gap", 1)
    assert "send part 1 next" in body["error"]


def test_the_same_number_with_other_audio_is_refused(alice: Recorder) -> None:
    dictation_id = _started(alice)
    alice.chunk(dictation_id, 0, CHUNKS[0])
    clash = alice.chunk(dictation_id, 0, CHUNKS[1])
    assert clash.status_code == 409
    assert (clash.json()["reason"], clash.json()["expected_sequence"]) == ("different", 1)


@pytest.mark.parametrize("sequence", ["", "-1", "one", "1" * 12])
def test_a_sequence_that_is_not_a_whole_number_is_refused(alice: Recorder, sequence: str) -> None:
    dictation_id = _started(alice)
    refused = alice.chunk(dictation_id, sequence, CHUNKS[0])
    assert refused.status_code == 400 and "Sequence" in refused.json()["error"]


def test_a_chunk_of_half_a_sample_is_refused(alice: Recorder) -> None:
    dictation_id = _started(alice)
    refused = alice.chunk(dictation_id, 0, b"\x01\x02\x03")
    assert refused.status_code == 400 and refused.json()["reason"] == "bad_chunk"


def test_past_the_upload_limit_a_chunk_is_refused_and_the_recording_can_stop(
    alice: Recorder, appliance: Appliance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        appliance, "settings", appliance.settings.model_copy(update={"max_upload_mb": 1})
    )
    dictation_id = _started(alice)
    ten_seconds = b"\x10\x00" * 160_000
    for n in range(3):
        assert alice.chunk(dictation_id, n, ten_seconds).status_code == 201
    refused = alice.chunk(dictation_id, 3, ten_seconds)
    assert refused.status_code == 413
    assert "What arrived is kept" in refused.json()["error"]
    assert alice.stop(dictation_id).status_code == 200
    assert alice.status(dictation_id)["state"] == "queued"


def test_stop_queues_the_recording_and_later_chunks_are_refused(alice: Recorder) -> None:
    dictation_id = _started(alice)
    alice.chunk(dictation_id, 0, CHUNKS[0])
    stopped = alice.stop(dictation_id)
    assert stopped.status_code == 200
    assert stopped.json() == {"location": f"/dictations/{dictation_id}"}
    assert alice.stop(dictation_id).status_code == 200  # the same Stop sent again
    status = alice.status(dictation_id)
    assert status["state"] == "queued" and "next_sequence" not in status
    late = alice.chunk(dictation_id, 1, CHUNKS[1])
    assert late.status_code == 409 and late.json()["reason"] == "not_recording"


def test_a_stop_before_any_chunk_is_refused(alice: Recorder) -> None:
    dictation_id = _started(alice)
    refused = alice.stop(dictation_id)
    assert refused.status_code == 409
    assert refused.json()["expected_sequence"] == 0
    assert alice.status(dictation_id)["state"] == "recording"


def test_bob_can_neither_append_to_nor_stop_alices_recording(
    alice: Recorder, signed_in: Callable[[str], Browser]
) -> None:
    dictation_id = _started(alice)
    bob_browser = signed_in("bob")
    bob = Recorder(bob_browser, bob_browser.add_client("Bo B"))
    assert bob.chunk(dictation_id, 0, CHUNKS[0]).status_code == 404
    assert bob.stop(dictation_id).status_code == 404
    assert alice.status(dictation_id)["next_sequence"] == 0


def test_bob_cannot_start_a_recording_for_alices_client(
    alice: Recorder, signed_in: Callable[[str], Browser]
) -> None:
    bob_browser = signed_in("bob")
    bob = Recorder(bob_browser, bob_browser.add_client("Bo B"))
    bob.client_id = alice.client_id
    assert bob.start().status_code == 404


def test_a_chunk_without_the_csrf_token_is_refused(alice: Recorder) -> None:
    dictation_id = _started(alice)
    alice.headers = JSON
    refused = alice.chunk(dictation_id, 0, CHUNKS[0])
    assert refused.status_code == 403
    assert alice.status(dictation_id)["next_sequence"] == 0


def test_the_live_transcript_says_what_arrived_and_refuses_a_bad_after(alice: Recorder) -> None:
    dictation_id = _started(alice)
    assert alice.chunk(dictation_id, 0, CHUNKS[0]).status_code == 201
    live = alice.browser.get(
        f"/dictations/{dictation_id}/live?after=0", headers={"x-background-poll": "1"}
    )
    assert live.status_code == 200
    body = live.json()
    assert body["state"] == "recording" and body["stretches"] == 0 and "text" not in body
    assert body["received_seconds"] == 1.0 and body["heard_seconds"] == 0
    assert body["audio_shredded_at"] is None
    bad = alice.browser.get(f"/dictations/{dictation_id}/live?after=abc")
    assert bad.status_code == 400 and "after" in bad.json()["error"]


def test_bob_cannot_read_alices_live_transcript(
    alice: Recorder, signed_in: Callable[[str], Browser]
) -> None:
    dictation_id = _started(alice)
    bob = signed_in("bob")
    answer = bob.get(f"/dictations/{dictation_id}/live?after=0")
    assert answer.status_code == 404 and "text" not in answer.json()
