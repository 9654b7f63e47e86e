"""The appliance's one LLM client: OpenAI's chat completions at the configured URL, nowhere else.

Implements appliance.drafting.language_model.LanguageModel. Answers are constrained with the
standard `response_format: {"type": "json_schema", ...}`: vLLM honours it, and the model
server's LLM front translates it for llama.cpp, which would silently ignore it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from appliance.drafting.language_model import ModelUnavailable, NoUsableAnswer
from appliance.inference.endpoint import OpenAIEndpoint

CONNECT_SECONDS = 5
# Statuses that say "not now" rather than "not this question": overloaded, timed out, down.
UNAVAILABLE_STATUSES = frozenset({408, 429})


class LLMClient(OpenAIEndpoint):
    def complete_json(
        self,
        system: str,
        user: str,
        *,
        schema_name: str,
        schema: Mapping[str, Any],
        max_tokens: int,
        patience: float,
    ) -> dict[str, Any]:
        body = {
            "model": self.model,
            "temperature": 0,
            "max_tokens": max_tokens,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": dict(schema)},
            },
        }
        timeout = httpx.Timeout(connect=CONNECT_SECONDS, read=patience, write=30, pool=5)
        try:
            reply = httpx.post(
                f"{self.base_url}/chat/completions",
                json=body,
                headers=self.headers,
                timeout=timeout,
            )
        except httpx.TransportError as exc:  # refused, timed out, reset
            raise ModelUnavailable(type(exc).__name__) from exc
        if reply.status_code >= 500 or reply.status_code in UNAVAILABLE_STATUSES:
            raise ModelUnavailable(f"HTTP {reply.status_code}")
        if reply.status_code >= 400:
            raise NoUsableAnswer(f"HTTP {reply.status_code}")
        try:
            content = reply.json()["choices"][0]["message"]["content"]
            answer = json.loads(content)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise NoUsableAnswer(type(exc).__name__) from exc
        if not isinstance(answer, dict):
            raise NoUsableAnswer("not a JSON object")
        return answer
