"""The appliance's one speech client: OpenAI's transcription endpoint at the configured URL.

No other host is ever contacted; the URL comes from settings and points at the box's own model
server (or the hospital's internal one). Implements appliance.drafting.pipeline.Transcriber.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

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


class SpeechClient:
    def __init__(self, base_url: str, model: str, api_key: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}{TRANSCRIPTIONS_PATH}"
        self.model = model
        self.headers = {"authorization": f"Bearer {api_key}"} if api_key else {}

    def available(self) -> bool:
        try:
            reply = httpx.get(f"{self.base_url}/models", headers=self.headers, timeout=5)
        except httpx.HTTPError:
            return False
        return reply.status_code == 200

    def transcribe(self, audio: bytes, audio_format: str, vocabulary: str | None = None) -> str:
        """The transcript's text. `vocabulary` (terms to expect) is this appliance's model
        server's extension of the OpenAI form; other OpenAI-compatible servers ignore it."""
        form = {"model": self.model, "response_format": "json", "language": "en"}
        if vocabulary:
            form["vocabulary"] = vocabulary
        try:
            reply = httpx.post(
                self.url,
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
