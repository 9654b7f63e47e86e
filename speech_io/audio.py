"""Decoding uploaded audio in memory with PyAV (the FFmpeg binding faster-whisper already uses).

Nothing is written to disk: the upload arrives as bytes, is decoded to 16 kHz mono float32, and
is dropped when the request ends. The accepted formats are the ones browsers record (webm/opus,
ogg/opus, mp4/m4a) and the ones people upload (wav, mp3, flac).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt

from speech_io.protocol import SpeechErrorCode

SAMPLE_RATE = 16_000
# Audio as every speech engine receives it: 16 kHz mono float32 samples in [-1, 1].
Samples = npt.NDArray[np.float32]

# PyAV/FFmpeg demuxer names -> what we tell people. Matching the demuxer FFmpeg actually
# detects (not the file name or the client's content type) is what makes this a real check.
ACCEPTED_DEMUXERS = {
    "wav": "wav",
    "mp3": "mp3",
    "mov,mp4,m4a,3gp,3g2,mj2": "m4a/mp4",
    "ogg": "ogg/opus",
    "matroska,webm": "webm",
    "flac": "flac",
    # The same demuxers as named when opened by name (speech_io.audio.DEMUXER_OF).
    "mov": "m4a/mp4",
    "matroska": "webm",
}
ACCEPTED_NAMES = "wav, mp3, m4a/mp4, ogg/opus, webm/opus, flac"
# First bytes of each accepted container: a cheap check before anything is stored or decoded.
SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"RIFF", 0, "wav"),
    (b"OggS", 0, "ogg"),
    (b"fLaC", 0, "flac"),
    (b"\x1a\x45\xdf\xa3", 0, "webm"),
    (b"ftyp", 4, "m4a"),
    (b"ID3", 0, "mp3"),
)


def sniff_format(data: bytes) -> str | None:
    """The container its first bytes name ("wav", "webm", ...), or None for anything else."""
    for magic, offset, name in SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return name
    # MPEG audio without an ID3 tag starts with a frame sync: 11 set bits.
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0:
        return "mp3"
    return None


# A recording whose every 50 ms stretch stays below about -50 dBFS holds nothing a person said:
# a muted or unplugged microphone records digital silence or its own faint noise floor, while
# quiet speech sits around -40 dBFS and above.
SILENCE_DBFS = -50.0
SILENCE_RMS = 10 ** (SILENCE_DBFS / 20)
WINDOW = SAMPLE_RATE // 20


class AudioError(Exception):
    def __init__(self, problem: SpeechErrorCode, message: str) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True)
class DecodedAudio:
    samples: Samples
    format: str

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


AUDIO_EXTENSIONS = frozenset({"wav", "mp3", "m4a", "mp4", "ogg", "oga", "opus", "webm", "flac"})


def claims_audio(filename: str | None, content_type: str | None) -> bool:
    """Whether the client says this is one of our formats (used to tell corrupt from foreign)."""
    extension = (filename or "").rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""
    return extension in AUDIO_EXTENSIONS or (content_type or "").startswith("audio/")


def decode(data: bytes, *, max_seconds: float, claimed_audio: bool = False) -> DecodedAudio:
    """16 kHz mono float32 samples, or AudioError saying what is wrong with the upload.

    Bytes no demuxer recognises are "unsupported", unless the client called them audio of an
    accepted kind: then they are a damaged file ("corrupt"), which is what the person needs
    to hear. A recording with no stretch above silence is "silent".
    """
    if not data:
        raise AudioError(SpeechErrorCode.EMPTY, "The audio file is empty.")
    with _open(data, claimed_audio) as container:
        format_name = ACCEPTED_DEMUXERS[container.format.name]
        chunks = list(_chunks(container, max_seconds))
    samples = np.concatenate(chunks) if chunks else None
    if samples is None or samples.size == 0:
        raise AudioError(SpeechErrorCode.EMPTY, "The audio file contains no sound.")
    if not _loud_window(samples):
        raise _silent()
    return DecodedAudio(samples=samples, format=format_name)


# The one FFmpeg demuxer each sniffed container is opened with. FFmpeg would otherwise probe
# the bytes with every demuxer it was built with (hundreds, some rarely exercised), inside the
# process that holds the keys; an upload reaches only the demuxer of the format it claims.
DEMUXER_OF = {
    "wav": "wav",
    "mp3": "mp3",
    "m4a": "mov",
    "ogg": "ogg",
    "webm": "matroska",
    "flac": "flac",
}


def _open(data: bytes, claimed_audio: bool) -> av.container.InputContainer:
    """The container of an accepted audio format, or AudioError."""
    sniffed = sniff_format(data)
    if sniffed is None:
        raise AudioError(
            SpeechErrorCode.UNSUPPORTED,
            f"This is not an audio file this service reads. Accepted formats: {ACCEPTED_NAMES}.",
        )
    try:
        container = av.open(io.BytesIO(data), mode="r", format=DEMUXER_OF[sniffed])
    except (av.error.FFmpegError, ValueError) as exc:
        if claimed_audio:
            raise AudioError(
                SpeechErrorCode.CORRUPT,
                "The audio file is damaged or incomplete and cannot be decoded.",
            ) from exc
        raise AudioError(
            SpeechErrorCode.UNSUPPORTED,
            f"This is not an audio file this service reads. Accepted formats: {ACCEPTED_NAMES}.",
        ) from exc
    if ACCEPTED_DEMUXERS.get(container.format.name) is None or not container.streams.audio:
        name = container.format.name
        container.close()
        raise AudioError(
            SpeechErrorCode.UNSUPPORTED,
            f"Audio format {name!r} is not accepted. Accepted formats: {ACCEPTED_NAMES}.",
        )
    return container


def has_sound(
    data: bytes,
    *,
    max_seconds: float,
    claimed_audio: bool = False,
    listen_seconds: float | None = None,
) -> bool:
    """Whether any 50 ms of the recording rises above silence; AudioError as `decode` says.

    Stops decoding at the first loud stretch (within the first second of any real dictation),
    so a web form can check an upload without decoding all of it. `listen_seconds` bounds the
    work for a silent file: only that much is decoded, and silence there counts as silent (an
    hour of silence would otherwise be decoded in full, on the request's time)."""
    if not data:
        raise AudioError(SpeechErrorCode.EMPTY, "The audio file is empty.")
    budget = int((listen_seconds if listen_seconds is not None else max_seconds) * SAMPLE_RATE)
    with _open(data, claimed_audio) as container:
        tail = np.zeros(0, dtype=np.float32)
        heard = 0
        for chunk in _chunks(container, max_seconds):
            heard += chunk.size
            if heard > budget:
                chunk = chunk[: chunk.size - (heard - budget)]
            tail = np.concatenate((tail, chunk))
            whole = len(tail) - len(tail) % WINDOW
            if whole and _loud_window(tail[:whole]):
                return True
            tail = tail[whole:]
            if heard >= budget:
                break
        return bool(tail.size) and _loud_window(tail)


def _loud_window(samples: Samples) -> bool:
    padded = np.pad(samples, (0, -len(samples) % WINDOW))
    rms = np.sqrt(np.mean(np.square(padded.reshape(-1, WINDOW), dtype=np.float64), axis=1))
    return bool(rms.max(initial=0.0) >= SILENCE_RMS)


def _silent() -> AudioError:
    return AudioError(
        SpeechErrorCode.SILENT,
        f"The recording is silent (nothing above {SILENCE_DBFS:g} dBFS): check that the "
        "microphone is on and not muted, and record again.",
    )


def _too_long(max_seconds: float) -> AudioError:
    return AudioError(
        SpeechErrorCode.TOO_LONG,
        f"The recording is longer than {max_seconds / 60:g} minutes; split it and send the parts.",
    )


def _chunks(container: av.container.InputContainer, max_seconds: float) -> Iterator[Samples]:
    """16 kHz mono float32 pieces as they decode; AudioError past `max_seconds` or on damage."""
    # The container's declared duration lets a 3-hour file be refused before decoding it.
    if container.duration is not None and container.duration / av.time_base > max_seconds:
        raise _too_long(max_seconds)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    total = 0
    limit = int(max_seconds * SAMPLE_RATE)
    try:
        for frame in container.decode(audio=0):
            for resampled in resampler.resample(frame):
                # format="flt": float32 samples, which numpy's stubs cannot know.
                chunk = resampled.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                total += chunk.size
                # Counted while decoding too: a container can lie about (or omit) its duration.
                if total > limit:
                    raise _too_long(max_seconds)
                yield chunk
        for resampled in resampler.resample(None):
            yield resampled.to_ndarray().reshape(-1).astype(np.float32, copy=False)
    except av.error.FFmpegError as exc:
        raise AudioError(
            SpeechErrorCode.CORRUPT,
            "The audio file is damaged or incomplete and cannot be decoded.",
        ) from exc
