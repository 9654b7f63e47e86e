"""New dictation (record, upload or type), its progress, and its transcript."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from appliance import clock
from appliance.access import AccessDenied, NotFound
from appliance.drafting.draft import RISK, Draft
from appliance.practice.note_templates import TemplateView, list_templates
from appliance.practice.preferences import service_codes, transcript_retention_days
from appliance.records.clients import ClientView, get_client
from appliance.records.dictations import (
    MODALITIES,
    NOTE_FORMATS,
    DictationInputError,
    DictationView,
    create_dictation,
    dictation_status,
    form_defaults,
    get_dictation,
    parse_details,
    retry_dictation,
)
from appliance.records.retention import deletion_due
from appliance.roles import Actor, Role
from appliance.runtime import Appliance
from speech_io.upload import Upload
from webui.auth import allow, current_actor
from webui.pages import not_found_page, render
from webui.provenance import linked_transcript

# The page spells out what the risk section covers, whatever the draft calls it.
RISK_LABEL = "Risk (suicidal / homicidal ideation, self-harm, safety plan)"
DETAIL_FIELDS = (
    "session_date",
    "start_time",
    "duration_minutes",
    "service_code",
    "modality",
    "note_format",
)


@dataclass(frozen=True)
class FormChoices:
    """What the form offers, as the practice has it now."""

    client: ClientView
    templates: list[TemplateView]
    service_codes: dict[str, str]


def _defaults(
    appliance: Appliance, actor: Actor, client_id: str
) -> tuple[FormChoices, dict[str, str]]:
    with appliance.unit_of_work() as db:
        client = get_client(db, appliance.keys, actor, client_id)
        templates = list_templates(db, actor)  # active ones only, for a clinician
        codes = service_codes(db)
        return FormChoices(client, templates, codes), form_defaults(db, actor, codes)


def _form(
    request: Request, choices: FormChoices, values: dict[str, str], **extra: object
) -> Response:
    return render(
        request,
        "dictations/new.html",
        {
            "client": choices.client,
            "values": values,
            "service_codes": choices.service_codes,
            "modalities": MODALITIES,
            "note_formats": NOTE_FORMATS,
            "templates": choices.templates,
            "max_upload_mb": request.app.state.appliance.settings.max_upload_mb,
            **extra,
        },
        status_code=400 if "error" in extra else 200,
    )


@allow(Role.CLINICIAN)
async def dictation_new(request: Request) -> Response:
    try:
        choices, values = await run_in_threadpool(
            _defaults,
            request.app.state.appliance,
            current_actor(request),
            request.path_params["client_id"],
        )
    except NotFound:
        return not_found_page(request)
    if choices.client.read_only:
        return not_found_page(request)
    return _form(request, choices, values)


def _create(
    appliance: Appliance, actor: Actor, client_id: str, values: dict[str, str], audio: bytes
) -> str:
    with appliance.unit_of_work() as db:
        # Checked against the list as it is now: the form may have been opened before an admin
        # removed a code.
        details = parse_details(
            *(values[f] for f in DETAIL_FIELDS), service_codes=service_codes(db)
        )
        return create_dictation(
            db,
            appliance.keys,
            appliance.settings,
            actor,
            client_id,
            details,
            audio=audio or None,
            typed_text=values.get("typed_text", ""),
        )


async def _form_again(
    request: Request, client_id: str, values: dict[str, str] | None, error: str
) -> Response:
    """The form again, filled in as sent, with what was wrong: nothing typed is lost."""
    try:
        choices, defaults = await run_in_threadpool(
            _defaults, request.app.state.appliance, current_actor(request), client_id
        )
    except NotFound:
        return not_found_page(request)
    return _form(request, choices, values or defaults, error=error)


@allow(Role.CLINICIAN)
async def dictation_create(request: Request) -> Response:
    appliance: Appliance = request.app.state.appliance
    actor = current_actor(request)
    client_id = request.path_params["client_id"]
    # Read (in memory only) by the route guard while it checked the CSRF token.
    upload: Upload | None = getattr(request.state, "upload", None)
    if upload is None:
        return await _form_again(request, client_id, None, "Send the form as multipart/form-data.")
    values = {f: upload.fields.get(f, "") for f in (*DETAIL_FIELDS, "typed_text")}
    try:
        dictation_id = await run_in_threadpool(
            _create, appliance, actor, client_id, values, upload.file_bytes
        )
    except (NotFound, AccessDenied):
        return not_found_page(request)
    except DictationInputError as error:
        return await _form_again(request, client_id, values, str(error))
    workers = request.app.state.workers
    if workers is not None:
        workers.wake()
    target = f"/dictations/{dictation_id}"
    if request.headers.get("accept", "").startswith("application/json"):
        return JSONResponse({"location": target}, status_code=201)  # the recorder's fetch()
    return RedirectResponse(target, status_code=303)


@dataclass(frozen=True)
class DetailPage:
    dictation: DictationView
    client: ClientView
    retention_due: datetime | None
    # The code's label from the practice's list now; None once an admin has removed the code
    # (the dictation keeps its code, and the page shows just that).
    service_label: str | None


def _get(appliance: Appliance, actor: Actor, dictation_id: str) -> DetailPage:
    with appliance.unit_of_work() as db:
        view = get_dictation(db, appliance.keys, actor, dictation_id)
        due = deletion_due(view.transcribed_at, transcript_retention_days(db))
        return DetailPage(
            view,
            get_client(db, appliance.keys, actor, view.client_id),
            due,
            service_codes(db).get(view.details.service_code),
        )


def _section_titles(draft: Draft | None) -> dict[str, str]:
    if draft is None:
        return {}
    return {key: draft.title_of(key) for key in draft.sections} | {RISK: RISK_LABEL}


@allow(Role.CLINICIAN, Role.SUPERVISOR)
async def dictation_detail(request: Request) -> Response:
    try:
        page = await run_in_threadpool(
            _get,
            request.app.state.appliance,
            current_actor(request),
            request.path_params["dictation_id"],
        )
    except NotFound:
        return not_found_page(request)
    view = page.dictation
    return render(
        request,
        "dictations/detail.html",
        {
            "dictation": view,
            "client": page.client,
            "modalities": MODALITIES,
            "service_label": page.service_label,
            "section_titles": _section_titles(view.draft),
            "transcript_pieces": (
                linked_transcript(view.transcript, view.draft)
                if view.draft and view.transcript
                else None
            ),
            "retention_due": page.retention_due,
        },
    )


def _status(appliance: Appliance, actor: Actor, dictation_id: str) -> DictationView:
    with appliance.unit_of_work() as db:
        return dictation_status(db, appliance.keys, actor, dictation_id)


@allow(Role.CLINICIAN, Role.SUPERVISOR)
async def dictation_status_json(request: Request) -> Response:
    try:
        view = await run_in_threadpool(
            _status,
            request.app.state.appliance,
            current_actor(request),
            request.path_params["dictation_id"],
        )
    except NotFound:
        return JSONResponse({"error": "not found"}, status_code=404)
    elapsed = (clock.utcnow() - view.created_at).total_seconds()
    return JSONResponse(
        {
            "state": view.state,
            "message": view.status_message,
            "queue_position": view.queue_position,
            "elapsed_seconds": round(elapsed),
        }
    )


def _retry(appliance: Appliance, actor: Actor, dictation_id: str) -> None:
    with appliance.unit_of_work() as db:
        retry_dictation(db, appliance.keys, actor, dictation_id)


@allow(Role.CLINICIAN)
async def dictation_retry(request: Request) -> Response:
    dictation_id = request.path_params["dictation_id"]
    try:
        await run_in_threadpool(
            _retry, request.app.state.appliance, current_actor(request), dictation_id
        )
    except NotFound:
        return not_found_page(request)
    return RedirectResponse(f"/dictations/{dictation_id}", status_code=303)
