"""A client's records as one zip: request it, watch it being built, download it once."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from appliance.access import NotFound
from appliance.notes.exports import (
    ExportUnavailable,
    download_export,
    export_status,
    request_export,
)
from appliance.roles import Role
from webui.auth import allow, current_actor
from webui.pages import render
from webui.views.app_state import appliance_of
from webui.views.forms import form_fields


@allow(Role.CLINICIAN)
def export_request(request: Request) -> Response:
    appliance = appliance_of(request)
    include = form_fields(request, "include_process_notes")["include_process_notes"] == "yes"
    with appliance.unit_of_work() as db:
        export_id = request_export(
            db,
            appliance.keys,
            current_actor(request),
            request.path_params["client_id"],
            include_process_notes=include,
        )
    workers = request.app.state.workers
    if workers is not None:
        workers.wake()
    return RedirectResponse(f"/exports/{export_id}", status_code=303)


def _export_page(request: Request, status_code: int = 200, **extra: object) -> Response:
    appliance = appliance_of(request)
    with appliance.unit_of_work() as db:
        view = export_status(
            db, appliance.keys, current_actor(request), request.path_params["export_id"]
        )
    return render(request, "exports/detail.html", {"export": view, **extra}, status_code)


@allow(Role.CLINICIAN)
def export_detail(request: Request) -> Response:
    return _export_page(request)


@allow(Role.CLINICIAN)
def export_status_json(request: Request) -> Response:
    appliance = appliance_of(request)
    try:
        with appliance.unit_of_work() as db:
            view = export_status(
                db, appliance.keys, current_actor(request), request.path_params["export_id"]
            )
    except NotFound:
        return JSONResponse({"error": "not found"}, status_code=404)
    return JSONResponse(
        {
            "state": view.state,
            "progress": view.progress,
            "total": view.total,
            "message": view.status_message,
        }
    )


@allow(Role.CLINICIAN)
def export_download(request: Request) -> Response:
    """A POST: the download destroys the export (its key shredded, its file removed)."""
    appliance = appliance_of(request)
    export_id = request.path_params["export_id"]
    try:
        with appliance.unit_of_work() as db:
            view = export_status(db, appliance.keys, current_actor(request), export_id)
            archive = download_export(
                db, appliance.settings, appliance.keys, current_actor(request), export_id
            )
    except ExportUnavailable as refused:
        return _export_page(request, 409, error=str(refused))
    return Response(
        archive,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{view.file_name}"'},
    )
