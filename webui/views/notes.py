"""The note: review and edit (autosaved), acknowledge flags, sign, addenda, and the to-sign list."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from appliance import clock
from appliance.drafting.draft import RISK
from appliance.drafting.modalities import field_label
from appliance.drafting.suggestions import LOOKS_ALIKE, SOUNDS_ALIKE, SPELLING
from appliance.identity.accounts import get_user
from appliance.identity.authentication import check_own_password
from appliance.notes.body import ADDED, NoteBody, NoteStatement
from appliance.notes.checks import BLOCKING, risk_placeholder
from appliance.notes.corrections import Offered, accept_suggestion, suggestions_for
from appliance.notes.editing import NoteInputError
from appliance.notes.process_notes import process_note_on_page
from appliance.notes.queues import notes_to_sign
from appliance.notes.review import (
    SaveResult,
    acknowledge_flag,
    begin_review,
    get_note,
    save_note,
)
from appliance.notes.signing import SignOutcome, add_addendum, sign_note
from appliance.numbers import whole_number
from appliance.practice.preferences import note_due_days, service_codes
from appliance.records.dictations import MODALITIES
from appliance.roles import Role
from webui.auth import allow, current_actor
from webui.note_form import submitted_note, version_of
from webui.pages import render
from webui.posted import posted_of
from webui.provenance import linked_transcript
from webui.views.app_state import appliance_of
from webui.views.dictations import RISK_LABEL
from webui.views.forms import form_fields

READERS = (Role.CLINICIAN, Role.SUPERVISOR)
STATEMENT_ID = re.compile(r"s\d{1,6}")
# Why a correction is suggested, as the page says it.
SUGGESTION_REASONS = {
    SPELLING: "the term's own spelling",
    SOUNDS_ALIKE: "sounds like the term",
    LOOKS_ALIKE: "spelled almost like the term",
}


def _wants_json(request: Request) -> bool:
    return request.headers.get("accept", "").startswith("application/json")


def note_page(
    request: Request,
    note_id: str,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    appliance = appliance_of(request)
    actor = current_actor(request)
    with appliance.unit_of_work() as db:
        view = get_note(db, appliance.keys, actor, note_id)
        user = get_user(db, actor.user_id)
        service_label = service_codes(db).get(view.dictation.details.service_code)
        due_days = note_due_days(db)
        process_note = process_note_on_page(db, appliance.keys, actor, note_id)
    body = view.body
    transcript = view.dictation.transcript
    return render(
        request,
        "notes/draft.html" if body is not None else "notes/signed.html",
        {
            "note": view,
            "body": body,
            "client": view.client,
            "modalities": MODALITIES,
            "field_label": field_label,
            "service_label": service_label,
            "section_titles": _section_titles(body),
            "risk_placeholder": risk_placeholder(body) if body else None,
            "blocking_codes": BLOCKING,
            "transcript_pieces": (
                linked_transcript(transcript, body) if body and transcript else None
            ),
            # Worked out from the statements as they read now; only their clinician accepts.
            "suggestions": suggestions_for(body) if body and view.editable else {},
            "suggestion_reasons": SUGGESTION_REASONS,
            "signature_line": user.signature_line,
            "mfa_enabled": user.mfa_enabled,
            "due_days": due_days,
            "process_note": process_note,
            "days_since_session": (clock.utcnow().date() - view.session_date).days,
            **extra,
        },
        status_code=status_code,
    )


def _section_titles(body: NoteBody | None) -> dict[str, str]:
    if body is None:
        return {}
    return {key: body.title_of(key) for key in body.sections} | {RISK: RISK_LABEL}


@allow(*READERS)
def note_detail(request: Request) -> Response:
    return note_page(request, request.path_params["note_id"])


@allow(Role.CLINICIAN)
def review_begin(request: Request) -> Response:
    """ "Review and sign" on a dictation whose draft predates notes: starts its note."""
    appliance = appliance_of(request)
    with appliance.unit_of_work() as db:
        note_id = begin_review(
            db, appliance.keys, current_actor(request), request.path_params["dictation_id"]
        )
    return RedirectResponse(f"/notes/{note_id}", status_code=303)


def _save_answer(result: SaveResult, request: Request, changed_structure: bool) -> dict[str, Any]:
    signed_in = request.state.signed_in
    return {
        "saved": result.saved,
        "version": result.version,
        "saved_at": result.saved_at.strftime("%H:%M:%S"),
        # New or deleted statements change the page's ids: the script reloads it.
        "reload": changed_structure,
        "flags": [
            {
                "id": f.id,
                "code": f.code,
                "message": f.message,
                "statement": f.statement,
                "open": f.open,
                "blocking": f.code in BLOCKING,
            }
            for f in result.body.flags
        ],
        # How each statement now stands, for its tag ("edited", "detached from dictation").
        "statements": {s.id: _origin_tag(s) for _, s in result.body.statements()},
        # The save counted as activity: the idle countdown starts again from here.
        "seconds_left": signed_in.live.seconds_left if signed_in else None,
    }


def _origin_tag(statement: NoteStatement) -> str:
    if statement.origin == ADDED:
        return "added"
    if statement.detached:
        return "detached from dictation"
    return "edited" if statement.edited else ""


def _theirs(body: NoteBody) -> list[dict[str, str]]:
    return [
        {"id": s.id, "section": key, "title": body.title_of(key), "text": s.text}
        for key, s in body.statements()
    ]


# A whole note (60,000 characters at most) percent-encoded: up to 9 bytes a character.
@allow(Role.CLINICIAN, max_body=1024 * 1024)
def note_save(request: Request) -> Response:
    appliance = appliance_of(request)
    note_id = request.path_params["note_id"]
    fields = posted_of(request).fields
    try:
        version = version_of(fields)
        submitted = submitted_note(fields)
        with appliance.unit_of_work() as db:
            result = save_note(
                db, appliance.keys, current_actor(request), note_id, version, submitted
            )
    except NoteInputError as error:
        if _wants_json(request):
            return JSONResponse({"error": str(error)}, status_code=400)
        return note_page(request, note_id, status_code=400, error=str(error))
    added = any(s.id is None for s in submitted.statements)
    if not result.saved:
        if _wants_json(request):
            answer = _save_answer(result, request, False)
            answer["theirs"] = _theirs(result.body)
            return JSONResponse(answer, status_code=409)
        # Without the script: both texts side by side, nothing overwritten.
        yours = [
            {"id": s.id or "new", "section": s.section, "text": s.text}
            for s in submitted.statements
        ]
        return note_page(
            request,
            note_id,
            status_code=409,
            conflict={"theirs": _theirs(result.body), "yours": yours},
        )
    if _wants_json(request):
        return JSONResponse(_save_answer(result, request, added or _deleted(fields)))
    return RedirectResponse(f"/notes/{note_id}?done=note_saved", status_code=303)


def _deleted(fields: dict[str, str]) -> bool:
    return any(name.endswith("-delete") and value for name, value in fields.items())


@allow(Role.CLINICIAN)
def flag_acknowledge(request: Request) -> Response:
    appliance = appliance_of(request)
    note_id, flag_id = request.path_params["note_id"], request.path_params["flag_id"]
    try:
        with appliance.unit_of_work() as db:
            result = acknowledge_flag(db, appliance.keys, current_actor(request), note_id, flag_id)
    except NoteInputError as error:
        if _wants_json(request):
            return JSONResponse({"error": str(error)}, status_code=400)
        return note_page(request, note_id, status_code=400, error=str(error))
    if _wants_json(request):
        return JSONResponse(_save_answer(result, request, False))
    return RedirectResponse(f"/notes/{note_id}?done=flag_acknowledged#flags", status_code=303)


@allow(Role.CLINICIAN)
def suggestion_accept(request: Request) -> Response:
    """One click on a suggested correction: a form of its own, so it works without the page's
    script; the statement keeps its citation (appliance.notes.corrections)."""
    appliance = appliance_of(request)
    note_id = request.path_params["note_id"]
    fields = form_fields(request, "statement", "start", "end", "heard", "term")
    start, end = whole_number(fields["start"]), whole_number(fields["end"])
    try:
        if start is None or end is None:
            raise NoteInputError("The page sent no suggestion; reload it.")
        wanted = Offered(fields["statement"], start, end, fields["heard"], fields["term"], "")
        with appliance.unit_of_work() as db:
            accept_suggestion(db, appliance.keys, current_actor(request), note_id, wanted)
    except NoteInputError as error:
        return note_page(request, note_id, status_code=400, error=str(error))
    # Back to the statement: the anchor is the statement's own id, never text.
    anchor = f"#st-{wanted.statement}" if STATEMENT_ID.fullmatch(wanted.statement) else ""
    return RedirectResponse(f"/notes/{note_id}?done=note_saved{anchor}", status_code=303)


def _signing_fields(request: Request) -> dict[str, str]:
    return form_fields(request, "password", "code", "version", "text")


@allow(Role.CLINICIAN)
def note_sign(request: Request) -> Response:
    appliance = appliance_of(request)
    note_id = request.path_params["note_id"]
    fields = _signing_fields(request)
    version = whole_number(fields["version"])
    version = -1 if version is None else version
    # argon2 before the unit of work: never inside SQLite's write lock.
    password = check_own_password(
        appliance.engine, current_actor(request).user_id, fields["password"]
    )
    with appliance.unit_of_work() as db:
        outcome = sign_note(
            db,
            appliance.settings,
            appliance.keys,
            current_actor(request),
            note_id,
            version=version,
            password=password,
            code=fields["code"],
        )
    return _after_signing(request, note_id, outcome, "note_signed")


def _after_signing(request: Request, note_id: str, outcome: SignOutcome, done: str) -> Response:
    if not outcome.signed:
        # Never redirect a refusal: the page says why, and what was typed (an addendum's text)
        # is still in the form. The password is never echoed back.
        return note_page(request, note_id, status_code=400, sign_error=outcome.message)
    return RedirectResponse(f"/notes/{note_id}?done={done}", status_code=303)


@allow(Role.CLINICIAN, max_body=256 * 1024)  # 10,000 characters, percent-encoded
def addendum_add(request: Request) -> Response:
    appliance = appliance_of(request)
    note_id = request.path_params["note_id"]
    fields = _signing_fields(request)
    # argon2 before the unit of work: never inside SQLite's write lock.
    password = check_own_password(
        appliance.engine, current_actor(request).user_id, fields["password"]
    )
    with appliance.unit_of_work() as db:
        outcome = add_addendum(
            db,
            appliance.settings,
            appliance.keys,
            current_actor(request),
            note_id,
            text=fields["text"],
            password=password,
            code=fields["code"],
        )
    if not outcome.signed:
        return note_page(
            request, note_id, status_code=400, sign_error=outcome.message, addendum=fields["text"]
        )
    return RedirectResponse(f"/notes/{note_id}?done=addendum_signed", status_code=303)


@allow(Role.CLINICIAN)
def to_sign(request: Request) -> Response:
    appliance = appliance_of(request)
    with appliance.unit_of_work() as db:
        items = notes_to_sign(db, appliance.keys, current_actor(request))
        due_days = note_due_days(db)
    return render(request, "notes/to_sign.html", {"items": items, "due_days": due_days})
