"""Concept classifiers for tests that need the drafting to ask the model."""

from __future__ import annotations

from collections.abc import Sequence

from appliance.drafting.placement import CONCEPTS


class Undecided:
    """A concept classifier that cannot tell the concepts apart: every one equally likely, so
    the learned placement has no view and the cues and the model decide."""

    def probabilities(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [{concept: 1 / len(CONCEPTS) for concept in CONCEPTS} for _ in texts]
