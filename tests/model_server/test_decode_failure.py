from __future__ import annotations

from model_server.engines.decode_failure import compression_ratio, failed_decode, repeats_in_a_loop

LOOPED = (
    "followed with a present moment practice using the other sounds in the room, the air vent, "
    "traffic, my voice, lorazepam, lorazepam, lorazepam, lorazepam, lorazepam, lorazepam,"
)


def test_a_word_said_over_and_over_is_a_loop() -> None:
    # Whisper's own compression test lets this through (2.34 against 2.4): the loop check is
    # what catches it.
    assert repeats_in_a_loop(LOOPED)
    assert failed_decode(LOOPED)


def test_a_repeated_phrase_of_three_words_is_a_loop() -> None:
    assert repeats_in_a_loop("she said " + "I am safe, " * 5)


def test_a_word_said_a_few_times_over_is_speech() -> None:
    text = 'He kept saying "no, no, no, no" when the image came up, then settled.'
    assert not repeats_in_a_loop(text)
    assert not failed_decode(text)


def test_text_that_compresses_like_a_loop_fails_without_a_short_run() -> None:
    # A run of four words said again and again: longer than the loop check looks for, caught by
    # Whisper's compression test.
    text = "the client said that " * 20
    assert not repeats_in_a_loop(text)
    assert failed_decode(text)


def test_ordinary_dictation_is_no_failed_decode() -> None:
    text = (
        "Client reports a better week, slept about six hours most nights. SUD started at 7 and "
        "dropped to 2 after eight sets. Plan to continue desensitization next session."
    )
    assert not failed_decode(text)


def test_the_compression_ratio_is_whispers() -> None:
    from faster_whisper.transcribe import get_compression_ratio

    for text in (LOOPED, "the client said that " * 20, "Plan to continue weekly."):
        assert compression_ratio(text) == get_compression_ratio(text)
