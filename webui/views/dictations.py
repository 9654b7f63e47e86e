"""New dictation (record, upload or type), its progress, and its transcript; and the small JSON
API of a recording streamed from the browser.

Streaming capture (appliance.records.recordings). Every call is a POST from the page's script
with the `X-CSRF-Token` header and `Accept: application/json`; answers are JSON, refusals
`{"error": <message for the clinician>, ...}`.

- `POST /clients/{client_id}/recordings`, a urlencoded form: the new-dictation form's session
  fields (session_date, start_time, duration_minutes, service_code, modality, note_format),
  `audio_format` (only `s16le-16k-mono`: 16 kHz mono 16-bit little-endian PCM) and
  `submission` (the form's random key: a start sent again returns the same recording).
  201 `{"id", "location", "chunks", "stop", "next_sequence"}`; 400 a field's problem.
- `POST /dictations/{dictation_id}/chunks`, multipart (read in memory, as a dictation upload
  is: webui.posted keeps no raw body): field `sequence` (0, 1, 2, ...) and the file part `file`
  holding the chunk's raw PCM (at most 60 s). Acknowledged only once sealed,
  fsynced and committed: 201 stored, 200 the same chunk sent again (nothing changed), each
  `{"sequence", "next_sequence", "received_seconds"}`. 409 with `expected_sequence` for a gap
  (send that one next) or a number already stored with other audio, or once stopped; 400 a bad
  chunk; 413 past the upload limit (what arrived is kept: stop); 507 the disk full (send again).
- `POST /dictations/{dictation_id}/stop`: queued for transcription and drafting as an upload is.
  200 `{"location"}`, again for a Stop sent twice; 409 before any chunk has arrived.
- `GET /dictations/{dictation_id}/status` adds `next_sequence` while the state is `recording`:
  after a lost connection or a server restart, the client resumes from there.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from appliance import clock
from appliance.access import AccessDenied, NotFound
from appliance.drafting.draft import RISK, Draft
from appliance.drafting.modalities import field_label
from appliance.faults import database_unreachable, report_storage_full, storage_full
from appliance.notes.queues import note_states_by_dictation
from appliance.numbers import whole_number
from appliance.practice.note_templates import TemplateView, list_templates
from appliance.practice.preferences import service_codes, transcript_retention_days
from appliance.records.clients import ClientView, get_client
from appliance.records.dictations import (
    MODALITIES,
    NOTE_FORMATS,
    DictationInputError,
    State,
    check_audio,
    create_dictation,
    dictation_status,
    form_defaults,
    get_dictation,
    new_submission_key,
    parse_details,
    retry_dictation,
    valid_submission_key,
)
from appliance.records.recordings import (
    RecordingRefused,
    Refusal,
    append_chunk,
    finish_recording,
    live_transcript,
    start_recording,
)
from appliance.records.retention import deletion_due
from appliance.roles import Role
from webui.auth import allow, current_actor
from webui.fault_pages import DICTATION_NOT_SAVED, storage_full_page, wants_json
from webui.pages import render
from webui.provenance import linked_transcript
from webui.views.app_state import appliance_of
from webui.views.forms import form_fields, uploaded

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


def _choices(request: Request, client_id: str) -> tuple[FormChoices, dict[str, str]]:
    """What the form offers, and its defaults; NotFound for a client that is not the actor's."""
    appliance = appliance_of(request)
    actor = current_actor(request)
    with appliance.unit_of_work() as db:
        client = get_client(db, appliance.keys, actor, client_id)
        templates = list_templates(db, actor)  # active ones only, for a clinician
        codes = service_codes(db)
        return FormChoices(client, templates, codes), form_defaults(
            db, appliance.keys, actor, codes
        )


def _form(
    request: Request,
    choices: FormChoices,
    values: dict[str, str],
    status_code: int = 400,
    **extra: object,
) -> Response:
    """The form; `status_code` is the answer's when it comes back with an `error`."""
    return render(
        request,
        "dictations/new.html",
        {
            "client": choices.client,
            "values": _with_submission_key(values),
            "service_codes": choices.service_codes,
            "modalities": MODALITIES,
            "note_formats": NOTE_FORMATS,
            "templates": choices.templates,
            "max_upload_mb": appliance_of(request).settings.max_upload_mb,
            **extra,
        },
        status_code=status_code if "error" in extra else 200,
    )


@allow(Role.CLINICIAN)
def dictation_new(request: Request) -> Response:
    choices, values = _choices(request, request.path_params["client_id"])
    if choices.client.read_only:
        raise NotFound(choices.client.id)
    return _form(request, choices, values)


def _with_submission_key(values: dict[str, str]) -> dict[str, str]:
    """Each form carries a random key of its own, kept when it comes back with an error, so
    sending it again (a lost answer, a double click) never stores a second dictation."""
    if valid_submission_key(values.get("submission")):
        return values
    return {**values, "submission": new_submission_key()}


def _form_again(
    request: Request,
    client_id: str,
    values: dict[str, str] | None,
    error: str,
    status_code: int = 400,
) -> Response:
    """The form again, filled in as sent, with what was wrong: nothing typed is lost."""
    choices, defaults = _choices(request, client_id)
    return _form(request, choices, values or defaults, status_code, error=error)


def _not_saved_for_lack_of_space(
    request: Request, client_id: str, values: dict[str, str]
) -> Response:
    """507, and nothing typed is lost: the form again as sent, or, when even showing it needs
    space the disk no longer has (its reads are audited), the typed text on a page to copy."""
    if wants_json(request):  # the recorder, which keeps its recording to send again
        return storage_full_page(request, DICTATION_NOT_SAVED)
    try:
        return _form_again(request, client_id, values, DICTATION_NOT_SAVED, 507)
    except Exception as exc:
        if not (storage_full(exc) or database_unreachable(exc)):
            raise
        return storage_full_page(request, DICTATION_NOT_SAVED, kept_text=values["typed_text"])


@allow(Role.CLINICIAN, uploads=True)
def dictation_create(request: Request) -> Response:
    appliance = appliance_of(request)
    client_id = request.path_params["client_id"]
    upload = uploaded(request)
    if upload is None:
        return _form_again(request, client_id, None, "Send the form as multipart/form-data.")
    values = {f: upload.fields.get(f, "") for f in (*DETAIL_FIELDS, "typed_text", "submission")}
    try:
        # Decoded and checked before the unit of work: the write lock is not held for it.
        audio = check_audio(appliance.settings, upload.file_bytes) if upload.file_bytes else None
        with appliance.unit_of_work() as db:
            # Checked against the list as it is now: the form may have been opened before an
            # admin removed a code.
            details = parse_details(
                *(values[f] for f in DETAIL_FIELDS), service_codes=service_codes(db)
            )
            dictation_id = create_dictation(
                db,
                appliance.keys,
                appliance.settings,
                current_actor(request),
                client_id,
                details,
                audio=audio,
                typed_text=values.get("typed_text", ""),
                submission_key=values["submission"],
            )
    except AccessDenied as denied:
        # A client this clinician may only read (emergency access) has no dictation form
        # (dictation_new answers 404 for it), so sending one anyway is a 404 too, not a 403.
        raise NotFound(client_id) from denied
    except DictationInputError as error:
        return _form_again(request, client_id, values, str(error))
    except Exception as exc:
        # The sealed audio's write refused (ENOSPC), or the database's (typed text): nothing
        # was kept (appliance.records.whole_files, the rollback), and the person is told.
        if not storage_full(exc):
            raise
        report_storage_full("dictation")
        return _not_saved_for_lack_of_space(request, client_id, values)
    workers = request.app.state.workers
    if workers is not None:
        workers.wake()
    target = f"/dictations/{dictation_id}"
    if request.headers.get("accept", "").startswith("application/json"):
        return JSONResponse({"location": target}, status_code=201)  # the recorder's fetch()
    return RedirectResponse(target, status_code=303)


def _section_titles(draft: Draft | None) -> dict[str, str]:
    if draft is None:
        return {}
    return {key: draft.title_of(key) for key in draft.sections} | {RISK: RISK_LABEL}


@allow(Role.CLINICIAN, Role.SUPERVISOR)
def dictation_detail(request: Request) -> Response:
    appliance = appliance_of(request)
    actor = current_actor(request)
    with appliance.unit_of_work() as db:
        view = get_dictation(db, appliance.keys, actor, request.path_params["dictation_id"])
        client = get_client(db, appliance.keys, actor, view.client_id)
        retention_due = deletion_due(view.transcribed_at, transcript_retention_days(db))
        # The code's label from the practice's list now; None once an admin has removed the
        # code (the dictation keeps its code, and the page shows just that).
        service_label = service_codes(db).get(view.details.service_code)
        note = note_states_by_dictation(db, view.client_id).get(view.id)
    return render(
        request,
        "dictations/detail.html",
        {
            "dictation": view,
            "client": client,
            "modalities": MODALITIES,
            "field_label": field_label,
            "service_label": service_label,
            "section_titles": _section_titles(view.draft),
            "transcript_pieces": (
                linked_transcript(view.transcript, view.draft)
                if view.draft and view.transcript
                else None
            ),
            "retention_due": retention_due,
            # (note id, state) once the draft is ready; None for a draft older than notes.
            "note": note,
        },
    )


@allow(Role.CLINICIAN, Role.SUPERVISOR)
def dictation_status_json(request: Request) -> Response:
    appliance = appliance_of(request)
    try:
        with appliance.unit_of_work() as db:
            view = dictation_status(
                db, appliance.keys, current_actor(request), request.path_params["dictation_id"]
            )
    except NotFound:
        # Polled by the progress page's script, which reads JSON: not the 404 page.
        return JSONResponse({"error": "not found"}, status_code=404)
    elapsed = (clock.utcnow() - view.created_at).total_seconds()
    status: dict[str, object] = {
        "state": view.state,
        "message": view.status_message,
        "queue_position": view.queue_position,
        "elapsed_seconds": round(elapsed),
    }
    if view.state == State.RECORDING:
        status["next_sequence"] = view.chunks_received
    return JSONResponse(status)


@allow(Role.CLINICIAN)
def dictation_retry(request: Request) -> Response:
    appliance = appliance_of(request)
    dictation_id = request.path_params["dictation_id"]
    with appliance.unit_of_work() as db:
        retry_dictation(db, appliance.keys, current_actor(request), dictation_id)
    return RedirectResponse(f"/dictations/{dictation_id}", status_code=303)


def _json_error(message: str, status_code: int, **extra: object) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status_code)


NOT_FOUND = "No such recording of yours."


@allow(Role.CLINICIAN)
def recording_start(request: Request) -> Response:
    appliance = appliance_of(request)
    client_id = request.path_params["client_id"]
    values = form_fields(request, *DETAIL_FIELDS, "audio_format", "submission")
    try:
        with appliance.unit_of_work() as db:
            details = parse_details(
                *(values[f] for f in DETAIL_FIELDS), service_codes=service_codes(db)
            )
            dictation_id = start_recording(
                db,
                appliance.keys,
                appliance.settings,
                current_actor(request),
                client_id,
                details,
                stream_format=values["audio_format"],
                submission_key=values["submission"],
            )
            # A start sent again (its answer lost) resumes where the recording stands.
            view = dictation_status(db, appliance.keys, current_actor(request), dictation_id)
    except (NotFound, AccessDenied):
        # As for the form: a client that is not this clinician's, or only readable, is a 404.
        return _json_error("No such client of yours.", 404)
    except DictationInputError as error:
        return _json_error(str(error), 400)
    base = f"/dictations/{dictation_id}"
    return JSONResponse(
        {
            "id": dictation_id,
            "location": base,
            "chunks": f"{base}/chunks",
            "stop": f"{base}/stop",
            "live": f"{base}/live",
            "next_sequence": view.chunks_received,
        },
        status_code=201,
    )


REFUSAL_STATUS = {
    Refusal.GAP: 409,
    Refusal.DIFFERENT: 409,
    Refusal.NOT_RECORDING: 409,
    Refusal.NOTHING_RECORDED: 409,
    Refusal.BAD_CHUNK: 400,
    Refusal.LIMIT: 413,
}


def _refused(refused: RecordingRefused) -> JSONResponse:
    return _json_error(
        str(refused),
        REFUSAL_STATUS[refused.refusal],
        reason=refused.refusal.value,
        expected_sequence=refused.expected_sequence,
    )


CHUNK_NOT_SAVED = (
    "The appliance's storage is full; this part of the recording was not saved. Keep the "
    "page open and tell your administrator: it is sent again once space is freed."
)


@allow(Role.CLINICIAN, uploads=True)
def recording_chunk(request: Request) -> Response:
    appliance = appliance_of(request)
    upload = uploaded(request)
    if upload is None:
        return _json_error("Send the part as multipart/form-data.", 400)
    sequence = whole_number(upload.fields.get("sequence", ""))
    if sequence is None:
        return _json_error("Sequence: a whole number (0 for the first part).", 400)
    try:
        with appliance.unit_of_work() as db:
            receipt = append_chunk(
                db,
                appliance.keys,
                appliance.settings,
                current_actor(request),
                request.path_params["dictation_id"],
                sequence,
                upload.file_bytes,
            )
    except (NotFound, AccessDenied):
        return _json_error(NOT_FOUND, 404)
    except RecordingRefused as refused:
        return _refused(refused)
    except Exception as exc:
        # The sealed chunk's write refused (ENOSPC): nothing was kept under its number, and
        # the client still holds it.
        if not storage_full(exc):
            raise
        report_storage_full("dictation")
        return _json_error(CHUNK_NOT_SAVED, 507)
    # Answered only now, after the commit: an acknowledged chunk survives a killed server.
    return JSONResponse(
        {
            "sequence": receipt.sequence,
            "next_sequence": receipt.next_sequence,
            "received_seconds": round(receipt.received_seconds, 3),
        },
        status_code=201 if receipt.stored else 200,
    )


@allow(Role.CLINICIAN)
def recording_stop(request: Request) -> Response:
    appliance = appliance_of(request)
    dictation_id = request.path_params["dictation_id"]
    try:
        with appliance.unit_of_work() as db:
            finish_recording(db, appliance.keys, current_actor(request), dictation_id)
    except (NotFound, AccessDenied):
        return _json_error(NOT_FOUND, 404)
    except RecordingRefused as refused:
        return _refused(refused)
    workers = request.app.state.workers
    if workers is not None:
        workers.wake()
    return JSONResponse({"location": f"/dictations/{dictation_id}"})


@allow(Role.CLINICIAN)
def recording_live_json(request: Request) -> Response:
    """The recording page's live transcript: polled every few seconds while recording, then
    until the draft is ready. `after`: the stretches the page already shows."""
    appliance = appliance_of(request)
    after = whole_number(request.query_params.get("after", "0"))
    if after is None:
        return _json_error("after: a whole number (0 to start).", 400)
    try:
        with appliance.unit_of_work() as db:
            live = live_transcript(
                db,
                appliance.keys,
                current_actor(request),
                request.path_params["dictation_id"],
                after,
            )
    except (NotFound, AccessDenied):
        return _json_error(NOT_FOUND, 404)
    shredded = live.audio_shredded_at
    body: dict[str, object] = {
        "state": live.state,
        "received_seconds": round(live.received_seconds, 1),
        "heard_seconds": round(live.heard_seconds, 1),
        "stretches": live.stretches,
        "audio_shredded_at": None if shredded is None else shredded.isoformat(),
        "location": f"/dictations/{request.path_params['dictation_id']}",
    }
    if live.text is not None:
        body["text"] = live.text
    return JSONResponse(body)
