"""Whether Whisper's text for a stretch of audio is a failed decode: a loop, not speech.

Whisper sometimes falls into repeating itself until it runs out of tokens ("the air vent,
traffic, my voice, lorazepam, lorazepam, lorazepam, ..."): the rest of the stretch is lost and a
word nobody said is written over and over, here a medication from the vocabulary hint. Whisper's
own remedy is to decode again at a higher temperature when the text compresses too well (its
compression-ratio test), but faster-whisper's batched decoding, which the appliance uses for
speed, decodes each stretch once and applies no such test (faster_whisper.transcribe,
BatchedInferencePipeline, 1.2). The stretch above, 30 seconds of a probe dictation spoken by the
Piper voice, also passes the compression test (2.34 against Whisper's 2.4): the loop ran out of
tokens before the text grew repetitive enough. So both signs are checked: the compression ratio,
and a short run of words said again and again.
"""

from __future__ import annotations

import re
import zlib

# Whisper's own threshold (openai-whisper and faster-whisper both default to it).
MAX_COMPRESSION_RATIO = 2.4
# A loop: a run of one to three words said this many times in a row. A person may say "no, no,
# no" or repeat a client's words once or twice; five times over is the decoder, not the speaker.
LOOP_REPEATS = 5
LONGEST_LOOPED_RUN = 3
_WORD = re.compile(r"[\w']+")


def repeats_in_a_loop(text: str) -> bool:
    """Whether some run of 1 to LONGEST_LOOPED_RUN words is said LOOP_REPEATS times in a row
    (case and punctuation aside)."""
    words = [word.lower() for word in _WORD.findall(text)]
    for run in range(1, LONGEST_LOOPED_RUN + 1):
        span = run * LOOP_REPEATS
        # A position where the next `run` words equal these ones extends a repetition; a
        # repetition of LOOP_REPEATS runs needs (LOOP_REPEATS - 1) * run such positions in a row.
        streak = 0
        for i in range(len(words) - run):
            streak = streak + 1 if words[i] == words[i + run] else 0
            if streak >= span - run:
                return True
    return False


def compression_ratio(text: str) -> float:
    """Whisper's measure of repetition: the text's bytes over their zlib-compressed size (as
    openai-whisper and faster-whisper compute it; written here because neither exports it as
    API, and importing faster-whisper here would load it for the openai-whisper engine too)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data))


def failed_decode(text: str) -> bool:
    """Whether `text`, Whisper's words for one stretch of audio, is a loop rather than speech."""
    return repeats_in_a_loop(text) or compression_ratio(text) > MAX_COMPRESSION_RATIO
