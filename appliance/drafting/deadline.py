"""A time limit for drafting, checked between its steps.

Drafting is pure Python (patterns, cues, grounding) plus one model call per undecided sentence,
and it runs on the job workers' threads inside `appliance serve`. A thread cannot be stopped
from outside, so the limit is cooperative: `build_draft` checks it before each sentence and
between its passes, and the writer stage before each statement. That bounds the whole stage
only because no step is long: every pattern of this package is linear in its input (bounded
gaps, no neighbouring quantifiers over the same characters; tests/appliance/drafting/
test_adversarial_input.py times each one at the typed-note limit), so a check comes round
within milliseconds, or within one model call's patience when the model is slow.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


class DraftingTimedOut(Exception):
    """Drafting ran past its time limit. The message is fixed: never any of the dictation."""

    def __init__(self) -> None:
        super().__init__("drafting ran past its time limit")


@dataclass(frozen=True)
class Deadline:
    at: float  # time.monotonic(), which no clock change moves

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def passed(self) -> bool:
        return time.monotonic() >= self.at

    def check(self) -> None:
        """Raise DraftingTimedOut once the limit is reached."""
        if self.passed():
            raise DraftingTimedOut
