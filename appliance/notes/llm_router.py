"""The model as a router: it names a section from a fixed list, under a JSON schema.

It sees one sentence at a time and may only answer with one of the offered section keys
(`response_format: json_schema` with an enum), so whatever it gets wrong, it cannot write text
into the note. Calls go only to the configured OpenAI-compatible LLM URL.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import httpx

logger = logging.getLogger("appliance.notes")
TIMEOUT = httpx.Timeout(connect=5, read=120, write=30, pool=5)


class LLMSectionClassifier:
    def __init__(self, base_url: str, model: str, api_key: str = "") -> None:
        self.url = f"{base_url.rstrip('/')}/chat/completions"
        self.model = model
        self.headers = {"authorization": f"Bearer {api_key}"} if api_key else {}

    def available(self) -> bool:
        """Whether the model answers at all (a job waits for it rather than draft without it)."""
        try:
            reply = httpx.get(
                self.url.rsplit("/chat/", 1)[0] + "/models", headers=self.headers, timeout=5
            )
        except httpx.HTTPError:
            return False
        return reply.status_code == 200

    def classify(self, sentence: str, sections: Sequence[tuple[str, str]]) -> str | None:
        keys = [key for key, _ in sections]
        menu = "\n".join(f"- {key}: {guidance}" for key, guidance in sections)
        body = {
            "model": self.model,
            "temperature": 0,
            "max_tokens": 20,
            "messages": [
                {
                    "role": "system",
                    "content": "You sort sentences of a therapist's dictation into the sections "
                    f"of a progress note. Sections:\n{menu}\nAnswer with the section key.",
                },
                {"role": "user", "content": sentence},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "section_choice",
                    "schema": {
                        "type": "object",
                        "properties": {"section": {"type": "string", "enum": keys}},
                        "required": ["section"],
                        "additionalProperties": False,
                    },
                },
            },
        }
        try:
            reply = httpx.post(self.url, json=body, headers=self.headers, timeout=TIMEOUT)
            reply.raise_for_status()
            content = reply.json()["choices"][0]["message"]["content"]
            answer = json.loads(content).get("section")
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # No answer is a safe answer: the sentence is placed by default and flagged.
            logger.warning("section classifier unavailable: %s", type(exc).__name__)
            return None
        return answer if answer in keys else None
