"""The draft's checks, run again on what the clinician changed, and which flags block signing.

The same checks as drafting (appliance.drafting): numbers, medications and diagnoses not in
the cited dictation, scores outside their scale, risk neither denied nor reported, risk
reported (shown for review, never blocking), and risk not addressed at all. A flag the
clinician acknowledged stays acknowledged as long as the same problem (same code, same message)
is found again on the same statement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from appliance.drafting.draft import RISK
from appliance.drafting.grounding import implausible_scores, ungrounded
from appliance.drafting.risk import RISK_REPORTED, polarity_unclear, reported_risk_message
from appliance.notes.body import NoteBody, NoteFlag, NoteStatement

RISK_NOT_ADDRESSED = "risk_not_addressed"
# Until fixed or acknowledged, these keep a note from being signed (the server refuses).
BLOCKING = frozenset(
    {RISK_NOT_ADDRESSED, "risk_polarity_unclear", "ungrounded", "implausible_score"}
)
# Found on one statement; recomputed whenever that statement changes. (risk_reported is shown,
# never blocking: reported risk is a finding to review, not a mistake to fix.)
STATEMENT_CODES = frozenset(
    {"risk_polarity_unclear", RISK_REPORTED, "ungrounded", "implausible_score", "unplaced"}
)
RISK_NOT_ASSESSED = "Risk not assessed (acknowledged)."
RISK_MESSAGE = (
    "The dictation says nothing about suicidal or homicidal ideation, self-harm or safety. "
    "Address risk before signing."
)


def open_blocking(body: NoteBody) -> list[NoteFlag]:
    return [f for f in body.flags if f.open and f.code in BLOCKING]


def _found(section: str, statement: NoteStatement) -> list[tuple[str, str]]:
    """(code, message) of every problem in one statement as it now reads."""
    found: list[tuple[str, str]] = []
    # Added or detached words cite nothing: the clinician vouches for them by signing.
    if statement.provenance and not statement.detached:
        missing = ungrounded(statement.text, statement.cited_text)
        if missing:
            found.append(("ungrounded", f"Not in the cited dictation: {', '.join(missing)}."))
    found.extend(
        ("implausible_score", f"{score} is outside that scale: probably misheard; check the value.")
        for score in implausible_scores(statement.text)
    )
    if section == RISK and polarity_unclear(statement.text):
        found.append(
            (
                "risk_polarity_unclear",
                f'"{statement.text}" neither denies nor reports it: a spoken "denies" is often '
                "misheard. Check what was said.",
            )
        )
    reported = reported_risk_message(statement.text) if section == RISK else None
    if reported is not None:
        found.append((RISK_REPORTED, reported))
    return found


def recheck(body: NoteBody, changed: Iterable[str]) -> NoteBody:
    """Flags after an edit: those of the `changed` statements found afresh, those of deleted
    statements gone, and the risk section's note-level flag raised or dropped."""
    changed = set(changed)
    where = {s.id: key for key, s in body.statements()}
    kept: list[NoteFlag] = []
    previous: dict[tuple[str, str, str], NoteFlag] = {}
    for flag in body.flags:
        if flag.statement is not None and flag.statement not in where:
            continue  # its statement was deleted
        if flag.statement in changed and flag.code in STATEMENT_CODES:
            previous[(flag.statement, flag.code, flag.message)] = flag
            continue
        kept.append(flag)
    next_flag = body.next_flag
    for key, statement in body.statements():
        if statement.id not in changed:
            continue
        for code, message in _found(key, statement):
            earlier = previous.get((statement.id, code, message))
            if earlier is not None:
                kept.append(replace(earlier, section=key))
            else:
                kept.append(NoteFlag(f"f{next_flag}", code, message, key, statement.id))
                next_flag += 1
    risk_flags = [f for f in kept if f.code == RISK_NOT_ADDRESSED]
    if body.sections.get(RISK):
        kept = [f for f in kept if f.code != RISK_NOT_ADDRESSED]
    elif not risk_flags:
        kept.append(NoteFlag(f"f{next_flag}", RISK_NOT_ADDRESSED, RISK_MESSAGE, RISK))
        next_flag += 1
    order = {f.id: n for n, f in enumerate(body.flags)}
    kept.sort(
        key=lambda f: (order.get(f.id, len(order)), int(f.id[1:]) if f.id[1:].isdigit() else 0)
    )
    return body.with_flags(tuple(kept), next_flag)


def risk_placeholder(body: NoteBody) -> str | None:
    """What the risk section says when it has no statement: not addressed, or, once the
    clinician acknowledged that, "not assessed (acknowledged)"."""
    if body.sections.get(RISK):
        return None
    flag = next((f for f in body.flags if f.code == RISK_NOT_ADDRESSED), None)
    if flag is not None and not flag.open:
        return RISK_NOT_ASSESSED
    return body.placeholders.get(RISK, "Not addressed in dictation.")
