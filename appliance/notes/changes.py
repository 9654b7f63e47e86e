"""How much the clinician changed the machine draft before signing: the practice's own measure
of draft quality, on its own dictations (exported as a metric, no PHI in it)."""

from __future__ import annotations

from appliance.drafting.draft import Draft
from appliance.notes.body import ADDED, NoteBody

KINDS = ("kept", "edited", "moved", "added", "deleted")


def draft_changes(draft: Draft, body: NoteBody) -> dict[str, int]:
    """Statements of the draft kept verbatim (same words, same section), edited (words changed,
    wherever they went), moved (same words, another section) or deleted; and statements the
    clinician added. `drafted` is how many the draft had."""
    drafted = {s.id: (key, s.text) for key, s in draft.statements()}
    counts = dict.fromkeys(KINDS, 0)
    seen: set[str] = set()
    for key, statement in body.statements():
        if statement.origin == ADDED or statement.id not in drafted:
            counts["added"] += 1
            continue
        seen.add(statement.id)
        drafted_key, drafted_text = drafted[statement.id]
        if statement.text != drafted_text:
            counts["edited"] += 1
        elif key != drafted_key:
            counts["moved"] += 1
        else:
            counts["kept"] += 1
    counts["deleted"] = len(set(drafted) - seen)
    return {**counts, "drafted": len(drafted)}
