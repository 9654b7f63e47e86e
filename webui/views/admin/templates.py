"""Admin pages for note templates: the built-in formats (read-only) and the practice's own."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

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
from appliance.roles import Role
from webui.auth import allow, current_actor
from webui.pages import render
from webui.views.app_state import appliance_of
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
        "admin/templates/form.html",
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


def _template(request: Request) -> TemplateView:
    """The template the address names; NotFound (the 404 page) when there is none."""
    with appliance_of(request).unit_of_work() as db:
        return get_template(db, current_actor(request), request.path_params["template_id"])


@allow(Role.ADMIN)
def template_list(request: Request) -> Response:
    with appliance_of(request).unit_of_work() as db:
        templates = list_templates(db, current_actor(request))
    return render(
        request,
        "admin/templates/list.html",
        {
            "builtins": list(FORMATS.values()),
            "active": [t for t in templates if t.active],
            "retired": [t for t in templates if not t.active],
        },
    )


@allow(Role.ADMIN)
async def template_new(request: Request) -> Response:
    return _form(request, "", [])


@allow(Role.ADMIN)
def template_create(request: Request) -> Response:
    fields = form_fields(request, "title", *ROW_FIELDS)
    rows = _rows(fields)
    try:
        with appliance_of(request).unit_of_work() as db:
            create_template(db, current_actor(request), fields["title"], rows)
    except TemplateInputError as error:
        return _form(request, fields["title"], rows, error=str(error))
    return RedirectResponse("/admin/templates?done=template_saved", status_code=303)


@allow(Role.ADMIN)
def template_edit(request: Request) -> Response:
    template = _template(request)
    rows = [(s.title, s.guidance) for s in template.sections]
    return _form(request, template.title, rows, template)


@allow(Role.ADMIN)
def template_update(request: Request) -> Response:
    fields = form_fields(request, "title", *ROW_FIELDS)
    rows = _rows(fields)
    try:
        with appliance_of(request).unit_of_work() as db:
            update_template(
                db,
                current_actor(request),
                request.path_params["template_id"],
                fields["title"],
                rows,
            )
    except TemplateInputError as error:
        # The form as sent, with what was wrong; the stored template is unchanged.
        return _form(request, fields["title"], rows, _template(request), str(error))
    return RedirectResponse("/admin/templates?done=template_saved", status_code=303)


@allow(Role.ADMIN)
def template_retire(request: Request) -> Response:
    with appliance_of(request).unit_of_work() as db:
        retire_template(db, current_actor(request), request.path_params["template_id"])
    return RedirectResponse("/admin/templates?done=template_retired", status_code=303)
