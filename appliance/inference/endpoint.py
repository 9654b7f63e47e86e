"""What every model server the appliance talks to has in common: an OpenAI-compatible base URL,
an optional bearer key, and `GET /models` to tell whether it answers."""

from __future__ import annotations

import httpx

# Enough for a loopback or LAN server to list its models; a slower answer means it is not up.
AVAILABLE_TIMEOUT_SECONDS = 5


class OpenAIEndpoint:
    def __init__(self, base_url: str, model: str, api_key: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.headers = {"authorization": f"Bearer {api_key}"} if api_key else {}

    def available(self) -> bool:
        """Whether the server answers at all (a job waits for it rather than fail without it)."""
        try:
            reply = httpx.get(
                f"{self.base_url}/models",
                headers=self.headers,
                timeout=AVAILABLE_TIMEOUT_SECONDS,
            )
        except httpx.HTTPError:
            return False
        return reply.status_code == 200
