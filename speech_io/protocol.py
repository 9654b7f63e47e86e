"""The speech API's contract, shared by the service (model_server) and its client (appliance).

OpenAI's `POST /v1/audio/transcriptions` with one extension (`vocabulary`), and the error codes
its `{"error": {..., "code"}}` envelope carries. Both sides name codes from here, so a renamed
code is a type error, never a refusal silently handled as something else.
"""

from __future__ import annotations

from enum import StrEnum

TRANSCRIPTIONS_PATH = "/audio/transcriptions"
RESPONSE_FORMATS = ("json", "verbose_json", "text")
# Whisper's hint window is about 220 tokens; a longer list would be cut anyway.
MAX_VOCABULARY_CHARS = 800


class SpeechErrorCode(StrEnum):
    # What is wrong with the recording itself (speech_io.audio finds these).
    UNSUPPORTED = "unsupported"
    CORRUPT = "corrupt"
    EMPTY = "empty"
    SILENT = "silent"
    TOO_LONG = "too_long"
    FILE_TOO_LARGE = "file_too_large"
    # The service heard sound but no speech (an empty transcript); named by the client.
    NO_SPEECH = "no_speech"
    # The caller's configuration.
    INVALID_API_KEY = "invalid_api_key"
    MODEL_NOT_FOUND = "model_not_found"


# Refusals about the recording: the same bytes will be refused again, whoever sends them.
ABOUT_THE_RECORDING = frozenset(
    {
        SpeechErrorCode.UNSUPPORTED,
        SpeechErrorCode.CORRUPT,
        SpeechErrorCode.EMPTY,
        SpeechErrorCode.SILENT,
        SpeechErrorCode.TOO_LONG,
        SpeechErrorCode.FILE_TOO_LARGE,
        SpeechErrorCode.NO_SPEECH,
    }
)
# What the speech service says of audio with nothing in it to hear. Of a stretch of a recording
# still being spoken, or the tail after its last stretch, that is a pause the clinician took,
# not a fault: the stretch's text is empty (appliance.jobs.stretch_stage).
NOTHING_HEARD = frozenset(
    {SpeechErrorCode.EMPTY, SpeechErrorCode.SILENT, SpeechErrorCode.NO_SPEECH}
)
