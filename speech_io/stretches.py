"""Where to cut a recording that is still being spoken, so it can be transcribed in stretches.

A streamed dictation is transcribed a stretch at a time while the clinician goes on talking
(appliance.jobs.stretch_stage), so that at Stop only the last stretch is left to hear. Each cut
falls in a pause, never inside a word: a word split across two stretches would be lost or heard
twice, and Whisper, hearing each stretch alone, would have no way to mend it. Pauses are found
by frame energy against the recording's own noise floor and speech level rather than by a
trained voice-activity model: the question here is not whether someone speaks but where, in
the last few seconds, they stopped for breath, and a quiet stretch between two words is exactly
a low-energy run of frames. (faster-whisper's Silero VAD lives in the speech service, which
this side reaches only over HTTP; webrtcvad answers speech/no-speech per 30 ms and would still
need this search for the longest gap on top.)

The longest pause near the end wins, since a sentence's end is usually a longer pause than a
comma's: stretches then end where sentences do, and the text of one stretch joins the next as
one transcript would. All lengths are in bytes of 16 kHz mono 16-bit PCM
(speech_io.audio.SAMPLE_RATE), the streamed format.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from speech_io.audio import SAMPLE_RATE

SAMPLE_BYTES = 2
BYTES_PER_SECOND = SAMPLE_RATE * SAMPLE_BYTES
FRAME_SECONDS = 0.02
FRAME_SAMPLES = int(SAMPLE_RATE * FRAME_SECONDS)


@dataclass(frozen=True)
class StretchPolicy:
    """When a stretch is due and where it may end.

    The defaults make stretches of 16 to 28 seconds, about the length of the chunks the speech
    service makes of a whole recording (Whisper's 30-second window, filled by its voice-activity
    filter), so that a stretch is heard as that part of the whole file would be. Measured on the
    first 8 development dictations with Whisper base: 20-second stretches cost 0.016 WER on the
    espeak-ng voice against the whole file, these 0.002 (and gained 0.002 on Piper). The price
    is the tail left at Stop, at most `due_seconds` of audio (about 2 s to hear on 2 cores).
    Handing each stretch the text before it as Whisper's prompt mended some boundaries but once
    made a stretch repeat itself (0.83 WER on one dictation), so stretches are heard alone, as
    the whole file's chunks are (condition_on_previous_text is off there too).
    """

    # Untranscribed audio needed before a stretch is cut at all.
    due_seconds: float = 28.0
    # No stretch shorter than this: Whisper hears too little context in less.
    min_seconds: float = 8.0
    # The cut is looked for only in the last this-many seconds of what has arrived, so that a
    # stretch is as long as it can be and what is left for later is short.
    search_seconds: float = 12.0
    # Never in the last this-many seconds: a word may be starting there.
    end_margin_seconds: float = 0.25
    # A pause is at least this long; shorter dips are stops inside words ("p", "t", "k").
    min_pause_seconds: float = 0.2
    # With this much untranscribed and no pause anywhere (someone talking without a breath, or
    # steady noise), the quietest moment is taken instead of waiting any longer.
    force_seconds: float = 30.0


DEFAULT_POLICY = StretchPolicy()


def _frame_levels(pcm: bytes) -> np.ndarray:
    """Each 20 ms frame's energy in dB (full scale)."""
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % SAMPLE_BYTES], dtype="<i2")
    frames = len(samples) // FRAME_SAMPLES
    shaped = samples[: frames * FRAME_SAMPLES].astype(np.float64).reshape(frames, FRAME_SAMPLES)
    power = np.mean(shaped * shaped, axis=1) / (32768.0 * 32768.0)
    return np.asarray(10.0 * np.log10(power + 1e-10))


def _quiet_frames(levels: np.ndarray) -> np.ndarray:
    """Frames nearer the recording's noise floor than its speech level. Relative, so that a
    quiet microphone and a loud one, or a hissing room and a silent one, cut alike."""
    floor = float(np.percentile(levels, 10))
    speech = float(np.percentile(levels, 90))
    if speech - floor < 6.0:  # no contrast at all: all speech, or all noise
        return np.zeros(len(levels), dtype=bool)
    return np.asarray(levels < floor + 0.35 * (speech - floor))


def _pauses(quiet: np.ndarray) -> list[tuple[int, int]]:
    """(first frame, frame after the last) of each run of quiet frames."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, is_quiet in enumerate(quiet.tolist()):
        if is_quiet and start is None:
            start = i
        elif not is_quiet and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(quiet)))
    return runs


def stretch_due(untranscribed_bytes: int, policy: StretchPolicy = DEFAULT_POLICY) -> bool:
    return untranscribed_bytes >= policy.due_seconds * BYTES_PER_SECOND


def find_cut(pcm: bytes, policy: StretchPolicy = DEFAULT_POLICY) -> int | None:
    """Where to end a stretch of `pcm` (the untranscribed audio, from its first byte): a byte
    offset, on a sample, in the middle of the longest pause near the end; None to wait for more
    audio (not due yet, or no pause yet and not so long that waiting is worse)."""
    if not stretch_due(len(pcm), policy):
        return None
    levels = _frame_levels(pcm)
    total = len(levels)
    frame_seconds = FRAME_SECONDS
    first = max(
        int(policy.min_seconds / frame_seconds),
        total - int(policy.search_seconds / frame_seconds),
    )
    last = total - int(policy.end_margin_seconds / frame_seconds)
    if last <= first:
        return None
    quiet = _quiet_frames(levels)
    min_frames = max(1, round(policy.min_pause_seconds / frame_seconds))
    best: tuple[int, int] | None = None  # (length, middle frame)
    for start, end in _pauses(quiet):
        # Only the part of the pause inside the search window counts.
        start, end = max(start, first), min(end, last)
        if end - start < min_frames:
            continue
        candidate = (end - start, (start + end) // 2)
        if best is None or candidate >= best:  # the longest; of equals, the latest
            best = candidate
    if best is None:
        if len(pcm) < policy.force_seconds * BYTES_PER_SECOND:
            return None
        best = (0, first + int(np.argmin(levels[first:last])))
    return best[1] * FRAME_SAMPLES * SAMPLE_BYTES


def plan_stretches(
    pcm: bytes, chunk_seconds: float = 3.0, policy: StretchPolicy = DEFAULT_POLICY
) -> list[tuple[int, int]]:
    """The (start, end) byte ranges a recording of `pcm` would be transcribed in, were it sent
    in chunks of `chunk_seconds` to a worker that keeps up: the stretches cut while it arrives,
    then the tail left at Stop. For `make eval`, which compares this with the whole file."""
    chunk = int(chunk_seconds * SAMPLE_RATE) * SAMPLE_BYTES
    stretches: list[tuple[int, int]] = []
    start = 0
    for arrived in range(chunk, len(pcm) + chunk, chunk):
        arrived = min(arrived, len(pcm))
        while True:
            cut = find_cut(pcm[start:arrived], policy)
            if cut is None:
                break
            stretches.append((start, start + cut))
            start += cut
    if start < len(pcm):
        stretches.append((start, len(pcm)))
    return stretches


def join_texts(texts: list[str]) -> str:
    """The transcript of a recording heard in stretches: each stretch's text in order, one space
    between, none for a stretch in which nothing was heard. Whisper ends each stretch's text
    where its audio ends, and a cut falls in a pause, so the stretches join like sentences."""
    return " ".join(text.strip() for text in texts if text.strip())
