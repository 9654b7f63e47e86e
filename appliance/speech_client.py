"""The appliance's only outbound call for speech: the configured OpenAI-compatible endpoint.

No other host is ever contacted; the URL comes from settings and points at the box's own
model server (or the hospital's internal one).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

TIMEOUT = httpx.Timeout(connect=5, read=900, write=120, pool=5)


class SpeechUnavailable(Exception):
    """The service did not answer or answered 5xx: try again later."""


@dataclass(frozen=True)
class SpeechRejected(Exception):
    """The service refused this audio (4xx): retrying the same bytes will not help."""

    status: int
    code: str | None


def transcribe(
    base_url: str,
    model: str,
    api_key: str,
    audio: bytes,
    audio_format: str,
    vocabulary: str | None = None,
) -> str:
    """The transcript's text. `vocabulary` (terms to expect) is this appliance's model server's
    extension of the OpenAI form; other OpenAI-compatible servers ignore the field."""
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    form = {"model": model, "response_format": "json", "language": "en"}
    if vocabulary:
        form["vocabulary"] = vocabulary
    try:
        reply = httpx.post(
            f"{base_url.rstrip('/')}/audio/transcriptions",
            data=form,
            files={"file": (f"dictation.{audio_format}", audio, "application/octet-stream")},
            headers=headers,
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
        raise SpeechRejected(reply.status_code, code)
    text = reply.json().get("text")
    if not isinstance(text, str):
        raise SpeechUnavailable("reply without text")
    return text
