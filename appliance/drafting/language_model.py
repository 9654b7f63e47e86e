"""What drafting needs from a language model, and the two ways a model can fail it.

Drafting never speaks HTTP (an import contract forbids it): appliance.inference.llm implements
this over the configured OpenAI-compatible server, and tests or `make eval` may supply their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class ModelUnavailable(Exception):
    """Not reached, or no answer in time: asking again right away will not help. The message
    is ours (an exception type or an HTTP status), never the model's text."""


class NoUsableAnswer(Exception):
    """The model answered, but not with JSON that fits the schema (cut off, malformed, refused):
    this one question failed; the next may not."""


class LanguageModel(Protocol):
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
        """The model's answer to one chat turn at temperature 0, constrained to `schema` and
        parsed. `patience`: seconds to wait for the answer before ModelUnavailable."""
        ...
