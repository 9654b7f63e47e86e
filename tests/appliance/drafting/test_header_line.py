"""The dictation's opening header line, found by its shape where Whisper garbled its words."""

from __future__ import annotations

import pytest

from appliance.drafting.header_line import header_end, is_header_line

# Whisper's transcripts of spoken header lines run into the dictation (written for these tests
# in the way the Piper voice's transcripts come back: "BIRP note" as "burp no", "min" as "men").
RUN_ONS = [
    (
        "burp no, client TK, 50 minutes, she said the week started badly after the move",
        "burp no, client TK, 50 minutes,",
    ),
    (
        "IFS progress note for client LW, 45 men, 90,834, LW described a harsh critic at work",
        "IFS progress note for client LW, 45 men, 90,834,",
    ),
    (
        "couples session, CPT 90847, partners GH and JH, 55 minutes, they arrived tense and sat "
        "apart",
        "couples session, CPT 90847, partners GH and JH, 55 minutes,",
    ),
]


@pytest.mark.parametrize(("run_on", "header"), RUN_ONS)
def test_the_header_that_opens_a_run_on_ends_after_its_last_session_item(
    run_on: str, header: str
) -> None:
    end = header_end(run_on, 4)
    assert end is not None
    assert run_on[:end] == header
    assert is_header_line(header)


@pytest.mark.parametrize(
    "opening",
    [
        # No client named: a session line, which the formats file in their own sections.
        "EMDR session 2, phase 2, preparation for a client with a history of neglect, we began",
        "Session 8 of CBT, seen on Thursday, for 53 minutes, the client reported poor sleep",
        # Minutes that are no session length.
        "client RT arrived 15 minutes late, irritable, and said the week was bad at work",
    ],
)
def test_a_line_that_names_no_client_or_no_session_item_is_no_header(opening: str) -> None:
    assert header_end(opening, 4) is None
    assert not is_header_line(opening)


def test_a_header_with_too_few_words_after_it_is_not_cut_from_them() -> None:
    assert header_end("DAP note for client R.T., 50 minutes, video", 4) is None
    assert is_header_line("DAP note for client R.T., 50 minutes, video")


def test_a_long_item_ends_the_header_run() -> None:
    said = "Progress note, client J.M., we talked about her sister for most of the hour, 50 minutes"
    assert header_end(said, 4) is None
    assert not is_header_line(said)
