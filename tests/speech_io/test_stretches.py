"""Where a recording still being spoken is cut into stretches: in pauses, never inside a word."""

from __future__ import annotations

from itertools import pairwise

from speech_io.stretches import (
    BYTES_PER_SECOND,
    DEFAULT_POLICY,
    find_cut,
    join_texts,
    plan_stretches,
)
from tests.pcm import speechlike

DUE = DEFAULT_POLICY.due_seconds


def _seconds(offset: int) -> float:
    return offset / BYTES_PER_SECOND


def test_nothing_is_cut_before_a_stretch_is_due() -> None:
    pcm = speechlike(DUE - 0.5, {DUE - 6: 0.8})
    assert find_cut(pcm) is None


def test_the_cut_falls_in_the_longest_pause_near_the_end() -> None:
    pcm = speechlike(DUE + 1, {DUE - 9: 0.4, DUE - 4: 0.6, DUE - 1.5: 0.3})
    cut = find_cut(pcm)
    assert cut is not None and cut % 2 == 0
    assert DUE - 4 < _seconds(cut) < DUE - 3.4


def test_a_pause_too_early_to_leave_a_long_stretch_is_not_taken() -> None:
    pcm = speechlike(DUE + 1, {5.0: 1.5, DUE - 5: 0.3})
    cut = find_cut(pcm)
    assert cut is not None and DUE - 5 < _seconds(cut) < DUE - 4.7


def test_the_dips_inside_words_are_no_pause_so_the_cut_waits() -> None:
    pcm = speechlike(DEFAULT_POLICY.force_seconds - 0.5, {})
    assert find_cut(pcm) is None


def test_with_no_pause_at_all_the_cut_is_forced_before_the_stretch_grows_too_long() -> None:
    pcm = speechlike(DEFAULT_POLICY.force_seconds + 0.5, {})
    cut = find_cut(pcm)
    assert cut is not None
    assert DEFAULT_POLICY.min_seconds <= _seconds(cut) <= DEFAULT_POLICY.force_seconds


def test_a_quiet_microphone_cuts_where_a_loud_one_does() -> None:
    pauses = {DUE - 8: 0.5, DUE - 3: 0.45}
    quiet = find_cut(speechlike(DUE + 1, pauses, loudness=0.01))
    assert quiet is not None
    assert quiet == find_cut(speechlike(DUE + 1, pauses, loudness=0.5))


def test_a_recording_is_planned_in_stretches_that_hear_every_byte_once() -> None:
    pauses = {7.0: 0.5, 20.0: 0.6, 40.0: 0.5, 62.0: 0.7, 75.0: 0.4}
    pcm = speechlike(90.0, pauses)
    stretches = plan_stretches(pcm)
    assert stretches[0][0] == 0 and stretches[-1][1] == len(pcm)
    assert all(a[1] == b[0] for a, b in pairwise(stretches))
    assert len(stretches) >= 3
    for _start, end in stretches[:-1]:  # every cut but Stop's is in one of the pauses
        at = _seconds(end)
        assert any(start < at < start + length for start, length in pauses.items()), at


def test_stretches_join_into_one_transcript_without_empty_ones() -> None:
    assert join_texts(["First part. ", "", "  ", "second part."]) == "First part. second part."
    assert join_texts([]) == ""
