"""The model as a router: it names a section from a fixed list, under a JSON schema.

It sees one sentence at a time and may only answer with one of the offered section keys (a
schema with an enum), so whatever it gets wrong, it cannot write text into the note.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from appliance.drafting.language_model import LanguageModel, ModelUnavailable, NoUsableAnswer

logger = logging.getLogger("appliance.drafting")
# A router answer is a handful of tokens; a long wait means a busy server, still worth waiting.
PATIENCE_SECONDS = 120.0


class LLMSectionClassifier:
    def __init__(self, llm: LanguageModel) -> None:
        self.llm = llm

    def classify(self, sentence: str, sections: Sequence[tuple[str, str]]) -> str | None:
        keys = [key for key, _ in sections]
        menu = "\n".join(f"- {key}: {guidance}" for key, guidance in sections)
        try:
            answer = self.llm.complete_json(
                "You sort sentences of a therapist's dictation into the sections of a progress "
                f"note. Sections:\n{menu}\nAnswer with the section key.",
                sentence,
                schema_name="section_choice",
                schema={
                    "type": "object",
                    "properties": {"section": {"type": "string", "enum": keys}},
                    "required": ["section"],
                    "additionalProperties": False,
                },
                max_tokens=20,
                patience=PATIENCE_SECONDS,
            )
        except (ModelUnavailable, NoUsableAnswer) as exc:
            # No answer is a safe answer: the sentence is placed by default and flagged.
            logger.warning("section classifier unavailable: %s", type(exc).__name__)
            return None
        section = answer.get("section")
        return section if section in keys else None
