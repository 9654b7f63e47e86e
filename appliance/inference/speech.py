"""The appliance's one speech client: OpenAI's transcription endpoint at the configured URL.

No other host is ever contacted; the URL comes from settings and points at the box's own model
server (or the hospital's internal one). Implements appliance.drafting.pipeline.Transcriber.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from appliance.inference.endpoint import OpenAIEndpoint
from speech_io.protocol import TRANSCRIPTIONS_PATH, SpeechErrorCode

# Transcribing an hour of audio on a busy CPU box takes minutes; the read timeout allows it.
TIMEOUT = httpx.Timeout(connect=5, read=900, write=120, pool=5)


class SpeechUnavailable(Exception):
    """The service did not answer or answered 5xx: try again later."""


@dataclass(frozen=True)
class SpeechRejected(Exception):
    """The service refused this audio (4xx): retrying the same bytes will not help. `code` is
    the error envelope's code: a SpeechErrorCode, or whatever another server sent (or None)."""

    status: int
    code: str | None

    @property
    def known_code(self) -> SpeechErrorCode | None:
        try:
            return SpeechErrorCode(self.code) if self.code else None
        except ValueError:
            return None


class SpeechClient(OpenAIEndpoint):
    def transcribe(self, audio: bytes, audio_format: str, vocabulary: str | None = None) -> str:
        """The transcript's text. `vocabulary` (terms to expect) is this appliance's model
        server's extension of the OpenAI form; other OpenAI-compatible servers ignore it."""
        form = {"model": self.model, "response_format": "json", "language": "en"}
        if vocabulary:
            form["vocabulary"] = vocabulary
        try:
            reply = httpx.post(
                f"{self.base_url}{TRANSCRIPTIONS_PATH}",
                data=form,
                files={"file": (f"dictation.{audio_format}", audio, "application/octet-stream")},
                headers=self.headers,
                timeout=TIMEOUT,
            )
        except httpx.TransportError as exc:
            raise SpeechUnavailable(type(exc).__name__) from exc
        if reply.status_code >= 500:
            raise SpeechUnavailable(f"HTTP {reply.status_code}")
        if reply.status_code >= 400:
            try:
                code = reply.json()["error"].get("code")
            except (ValueError, KeyError, TypeError, AttributeError):
                code = None
            raise SpeechRejected(reply.status_code, code if isinstance(code, str) else None)
        text = reply.json().get("text")
        if not isinstance(text, str):
            raise SpeechUnavailable("reply without text")
        return text
