"""Admin pages for note templates: the built-in formats (read-only) and the practice's own."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appliance.access import NotFound
from appliance.drafting.formats import FORMATS
from appliance.practice.note_templates import (
    MAX_GUIDANCE,
    MAX_SECTION_TITLE,
    MAX_SECTIONS,
    MAX_TITLE,
    TemplateInputError,
    TemplateView,
    create_template,
    get_template,
    list_templates,
    retire_template,
    update_template,
)
from appliance.roles import Actor, Role
from appliance.runtime import Appliance
from webui.auth import allow, current_actor
from webui.pages import not_found_page, render
from webui.views.forms import form_fields

ROW_FIELDS = [
    f"section_{n}_{part}" for n in range(1, MAX_SECTIONS + 1) for part in ("title", "guidance")
]
LIMITS = {
    "title": MAX_TITLE,
    "section_title": MAX_SECTION_TITLE,
    "guidance": MAX_GUIDANCE,
    "sections": MAX_SECTIONS,
}


def _rows(fields: dict[str, str]) -> list[tuple[str, str]]:
    return [
        (fields[f"section_{n}_title"], fields[f"section_{n}_guidance"])
        for n in range(1, MAX_SECTIONS + 1)
    ]


def _padded(rows: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    # Every row the limit allows is on the form, so no script is needed to add one.
    return [*rows, *[("", "")] * (MAX_SECTIONS - len(rows))]


def _heading(template: TemplateView | None) -> str:
    if template is None:
        return "New template"
    return "Edit template" if template.active else "Retired template"


def _form(
    request: Request,
    title: str,
    rows: Sequence[tuple[str, str]],
    template: TemplateView | None = None,
    error: str | None = None,
) -> Response:
    return render(
        request,
        "admin/template_form.html",
        {
            "heading": _heading(template),
            "template": template,
            "title_value": title,
            "rows": _padded(rows),
            "limits": LIMITS,
            "error": error,
        },
        status_code=400 if error else 200,
    )


def _list(appliance: Appliance, actor: Actor) -> list[TemplateView]:
    with appliance.unit_of_work() as db:
        return list_templates(db, actor)


@allow(Role.ADMIN)
async def template_list(request: Request) -> Response:
    templates = await run_in_threadpool(_list, request.app.state.appliance, current_actor(request))
    return render(
        request,
        "admin/templates.html",
        {
            "builtins": list(FORMATS.values()),
            "active": [t for t in templates if t.active],
            "retired": [t for t in templates if not t.active],
        },
    )


@allow(Role.ADMIN)
async def template_new(request: Request) -> Response:
    return _form(request, "", [])


def _create(appliance: Appliance, actor: Actor, title: str, rows: list[tuple[str, str]]) -> None:
    with appliance.unit_of_work() as db:
        create_template(db, actor, title, rows)


@allow(Role.ADMIN)
async def template_create(request: Request) -> Response:
    fields = await form_fields(request, "title", *ROW_FIELDS)
    rows = _rows(fields)
    try:
        await run_in_threadpool(
            _create, request.app.state.appliance, current_actor(request), fields["title"], rows
        )
    except TemplateInputError as error:
        return _form(request, fields["title"], rows, error=str(error))
    return RedirectResponse("/admin/templates?done=template_saved", status_code=303)


def _get(appliance: Appliance, actor: Actor, template_id: str) -> TemplateView:
    with appliance.unit_of_work() as db:
        return get_template(db, actor, template_id)


@allow(Role.ADMIN)
async def template_edit(request: Request) -> Response:
    try:
        template = await run_in_threadpool(
            _get,
            request.app.state.appliance,
            current_actor(request),
            request.path_params["template_id"],
        )
    except NotFound:
        return not_found_page(request)
    rows = [(s.title, s.guidance) for s in template.sections]
    return _form(request, template.title, rows, template)


def _update(
    appliance: Appliance, actor: Actor, template_id: str, title: str, rows: list[tuple[str, str]]
) -> None:
    with appliance.unit_of_work() as db:
        update_template(db, actor, template_id, title, rows)


@allow(Role.ADMIN)
async def template_update(request: Request) -> Response:
    appliance: Appliance = request.app.state.appliance
    actor = current_actor(request)
    template_id = request.path_params["template_id"]
    fields = await form_fields(request, "title", *ROW_FIELDS)
    rows = _rows(fields)
    try:
        await run_in_threadpool(_update, appliance, actor, template_id, fields["title"], rows)
    except NotFound:
        return not_found_page(request)
    except TemplateInputError as error:
        # The form as sent, with what was wrong; the stored template is unchanged.
        template = await run_in_threadpool(_get, appliance, actor, template_id)
        return _form(request, fields["title"], rows, template, str(error))
    return RedirectResponse("/admin/templates?done=template_saved", status_code=303)


def _retire(appliance: Appliance, actor: Actor, template_id: str) -> None:
    with appliance.unit_of_work() as db:
        retire_template(db, actor, template_id)


@allow(Role.ADMIN)
async def template_retire(request: Request) -> Response:
    try:
        await run_in_threadpool(
            _retire,
            request.app.state.appliance,
            current_actor(request),
            request.path_params["template_id"],
        )
    except NotFound:
        return not_found_page(request)
    return RedirectResponse("/admin/templates?done=template_retired", status_code=303)
