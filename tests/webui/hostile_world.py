"""One long-lived appliance for hostile-input fuzzing, and the judge of each request sent to it.

The world is the route matrix's (tests/webui/route_samples.py: alice's client with three
dictations, a signed note, frank with a setup link and an emergency grant, a template, an
export) with one browser per visitor of the matrix. It is built once per module (or once per
`make fuzz`), so hostile requests pile up in it. What they legitimately change (a sign-out, the
two-factor policy, the service codes, the in-memory throttle) is put back before each request by
`World.browser_of`, so that the next example still reaches past the route guard.

`judge` says what is wrong with one answer: a 5xx, exception or SQL text or a file path in the
body, a hostile tag echoed unescaped, a refused request that changed rows or sealed files (the
audit trail excepted), or an accepted one that left something half made.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

from sqlalchemy import text
from sqlmodel import SQLModel, select
from starlette.applications import Starlette
from starlette.routing import compile_path

from appliance.crypto.envelope import open_record_key
from appliance.identity.accounts import (
    actor_for,
    assign_supervisor,
    enable_user,
    find_user,
    is_locked,
    supervisor_of,
    unlock_user,
)
from appliance.identity.mfa import begin_enrolment
from appliance.identity.sessions import resume_session, start_session
from appliance.identity.tokens import token_digest
from appliance.models import (
    AuditEvent,
    DataKey,
    Dictation,
    Note,
    RecordingChunk,
    SetupToken,
    User,
)
from appliance.practice.preferences import (
    mfa_required,
    service_codes,
    set_mfa_required,
    set_service_codes,
)
from appliance.practice.service_codes import DEFAULT_SERVICE_CODES
from appliance.records import audio_chunks, audio_store
from appliance.records.dictations import read_transcript
from appliance.runtime import Appliance
from tests.conftest import Browser, People, add_people
from tests.webui.hostile_requests import INJECTIONS, HostileForm, build
from tests.webui.route_samples import RouteSamples, make_route_samples
from tests.webui.test_route_matrix import PASSWORD_ONLY, SIGNED_OUT, VISITORS, allowed_visitors
from webui.app import create_app
from webui.auth import SESSION_COOKIE
from webui.throttle import Throttle

REPO_ROOT = Path(__file__).resolve().parents[2]
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')
# A page that carries a form token, for each kind of visitor.
FORM_PAGE = {SIGNED_OUT: "/login", PASSWORD_ONLY: "/login/mfa"}


class WorldBroken(Exception):
    """The world could not be put back for the next request: a defect of the harness or of the
    app, never a hostile answer to judge."""


@dataclass
class World:
    appliance: Appliance
    app: Starlette
    people: People
    samples: RouteSamples
    browsers: dict[str, Browser] = field(default_factory=dict)
    # Field name -> the values the world's own forms carry (statement ids, versions, options).
    seen: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Visitor -> (the session or pre-session cookie the token was read with, the token).
    _tokens: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.appliance.settings.data_dir

    def browser_of(self, who: str) -> Browser:
        """`who`'s browser, signed in (a live session) and ready to post, the world put back."""
        browser = self.browsers[who]
        # Fresh per request: the fuzzing sends far more sign-in attempts than a person would,
        # and the throttle's refusal would otherwise be all that later examples reach.
        settings = self.appliance.settings
        self.app.state.throttle = Throttle(settings.lockout_threshold, settings.lockout_minutes)
        with self.appliance.unit_of_work() as db:
            self._put_back(db)
            if who != SIGNED_OUT:
                token = browser.cookies.get(SESSION_COOKIE)
                if token is None or resume_session(db, token, settings) is None:
                    user = find_user(db, who)
                    if user is None or not user.is_active:
                        raise WorldBroken(f"{who} can no longer sign in")
                    token = start_session(db, user, settings, mfa_passed=who != PASSWORD_ONLY)
                    browser.cookies.set(SESSION_COOKIE, token, domain="testserver.local")
        return browser

    def _put_back(self, db: Any) -> None:
        """Undo what accepted hostile posts legitimately changed and later examples need: the
        two-factor policy (it would send everyone to enrolment), the service codes, frank's
        setup link, the personas' accounts (an id of 1 is alice's; wrong codes lock), bob's
        second factor and carol's supervision of alice."""
        dave = actor_for(self.people.dave)
        if mfa_required(db):
            set_mfa_required(db, False, by=dave)
        if service_codes(db) != DEFAULT_SERVICE_CODES:
            set_service_codes(db, list(DEFAULT_SERVICE_CODES.items()), by=dave)
        link = db.exec(
            select(SetupToken).where(
                SetupToken.token_hash == token_digest(self.samples.values["token"][0])
            )
        ).one()
        if link.used_at is not None:
            link.used_at = None
            db.add(link)
        for person in self.people.all():
            user = db.get(User, person.id)
            if not user.is_active:
                enable_user(db, user, by=dave)
            if is_locked(user):  # wrong codes lock an account as wrong passwords do
                unlock_user(db, user, by=dave)
            if user.username == PASSWORD_ONLY and not user.mfa_enabled:
                begin_enrolment(db, self.appliance.keys, user)
                user.mfa_enabled = True
                db.add(user)
        alice, carol = self.people.alice, self.people.carol
        assert alice.id is not None
        supervisor = supervisor_of(db, alice.id)
        if supervisor is None or supervisor.id != carol.id:
            assign_supervisor(db, db.get(User, alice.id), db.get(User, carol.id), by=dave)

    def note_version(self) -> int:
        """The sample note's version now: the one its review form would carry."""
        with self.appliance.unit_of_work() as db:
            note = db.get(Note, self.samples.values["note_id"][0])
            return note.version if note is not None else 0

    def csrf_of(self, who: str) -> str:
        """The form token a page would give `who` now (read from a page once per session)."""
        browser = self.browsers[who]
        seed = browser.cookies.get(SESSION_COOKIE) or ""
        if who == SIGNED_OUT:
            seed = browser.cookies.get("__Host-presession") or ""
        cached = self._tokens.get(who)
        if cached is not None and cached[0] == seed and seed:
            return cached[1]
        page = browser.get(FORM_PAGE.get(who, "/account"))
        match = CSRF_PATTERN.search(page.text)
        if match is None:
            raise WorldBroken(f"no form token for {who} ({page.status_code})")
        seed = browser.cookies.get(SESSION_COOKIE) or browser.cookies.get("__Host-presession") or ""
        self._tokens[who] = (seed, match.group(1))
        return match.group(1)


def open_world(
    appliance: Appliance, password_hash: str, *, raise_server_exceptions: bool = True
) -> World:
    """The route matrix's world on `appliance` (empty and migrated), a browser per visitor.

    `raise_server_exceptions`: a 500 raises the app's exception in the caller (a test wants
    its traceback); off, it comes back as the 500 page (the drill counts them)."""
    people = add_people(appliance, password_hash)
    samples = make_route_samples(appliance, people)
    app = create_app(appliance)
    world = World(appliance, app, people, samples)
    for n, who in enumerate(VISITORS, start=1):
        # An address of its own each: the throttle counts per address.
        world.browsers[who] = Browser(
            app,
            base_url="https://testserver",
            client=(f"192.0.2.{n}", 50000),
            raise_server_exceptions=raise_server_exceptions,
        )
    world.seen = _harvest(world)
    return world


_INPUT = re.compile(r'<input[^>]*?name="([^"]+)"[^>]*?value="([^"]*)"')
_TEXTAREA = re.compile(r'<textarea[^>]*?name="([^"]+)"[^>]*>(.*?)</textarea>', re.S)
_SELECT = re.compile(r'<select[^>]*?name="([^"]+)"[^>]*>(.*?)</select>', re.S)
_OPTION = re.compile(r'<option value="([^"]*)"')


def _harvest(world: World) -> dict[str, tuple[str, ...]]:
    """What the forms of the world's own pages carry, by field name: real statement ids, the
    note's version, the options of each list. Hostile values start from these too."""
    samples = world.samples.values
    pages = {
        "alice": [
            f"/notes/{samples['note_id'][0]}",
            f"/clients/{samples['client_id'][0]}/dictations/new",
            f"/clients/{samples['client_id'][0]}/delete",
        ],
        "dave": [
            "/admin/settings",
            "/admin/emergency",
            f"/admin/templates/{samples['template_id'][0]}",
            f"/admin/users/{samples['user_id'][0]}",
            "/admin/users/new",
        ],
    }
    seen: dict[str, set[str]] = {}
    for who, paths in pages.items():
        browser = world.browser_of(who)
        for path in paths:
            page = browser.get(path)
            assert page.status_code == 200, (who, path, page.status_code)
            found = _INPUT.findall(page.text) + _TEXTAREA.findall(page.text)
            for name, options in _SELECT.findall(page.text):
                found += [(name, value) for value in _OPTION.findall(options)]
            for name, value in found:
                if name != "csrf_token":
                    seen.setdefault(name, set()).add(html.unescape(value))
    return {name: tuple(sorted(values)) for name, values in seen.items()}


# -- what the database and the data directory hold --------------------------------------------

# Tables whose new rows are checked for completeness (their ids, as text).
WATCHED = ("clients", "dictations", "users", "process_notes", "note_templates")
# Written by every request that is refused too: by design, every refusal is audited.
AUDIT_TABLES = frozenset({AuditEvent.__tablename__})


@dataclass(frozen=True)
class Census:
    rows: dict[str, int]
    ids: dict[str, frozenset[str]]
    files: frozenset[str]
    last_data_key: int


def _files(data_dir: Path) -> frozenset[str]:
    found = set()
    for root, _, names in os.walk(data_dir):
        for name in names:
            if not name.startswith("appliance.db"):
                found.add(os.path.relpath(os.path.join(root, name), data_dir))
    return frozenset(found)


def take_census(appliance: Appliance) -> Census:
    tables = [t.name for t in SQLModel.metadata.sorted_tables]
    counts = " UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM {t}" for t in tables)  # noqa: S608
    ids = " UNION ALL ".join(
        f"SELECT '{t}', CAST(id AS VARCHAR(64)) FROM {t}"  # noqa: S608
        for t in WATCHED
    )
    with appliance.engine.connect() as connection:
        rows = {name: int(n) for name, n in connection.execute(text(counts))}
        by_table: dict[str, set[str]] = {t: set() for t in WATCHED}
        for name, row_id in connection.execute(text(ids)):
            by_table[name].add(row_id)
        last_key = connection.execute(text("SELECT COALESCE(MAX(id), 0) FROM data_keys")).one()
    return Census(
        rows,
        {t: frozenset(v) for t, v in by_table.items()},
        _files(appliance.settings.data_dir),
        int(last_key[0]),
    )


# -- the judge --------------------------------------------------------------------------------

# What only an exception, a query or the server's own disk puts in a page. Matched as written
# (case matters: "<select" is a form, "SELECT " is SQL).
LEAK_MARKERS = (
    "Traceback",
    "Exception",
    "Error:",
    "Errno",
    # Python's own exception texts, shown by a view that passes str(error) on.
    "invalid literal for",
    "int_max_str_digits",
    "codec can't",
    "NoneType",
    "has no attribute",
    "not supported between instances",
    "unsupported operand",
    'File "',
    '.py"',
    ".py:",
    "site-packages",
    "sqlalchemy",
    "sqlite3",
    "psycopg",
    "[SQL:",
    "SELECT ",
    "INSERT INTO",
    "UPDATE ",
    "DELETE FROM",
    " WHERE ",
    tempfile.gettempdir() + "/",
    str(REPO_ROOT),
)
# Hostile markup the strategies send; an HTML page must only ever carry it escaped.
HOSTILE_MARKUP = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


@dataclass(frozen=True)
class Exchange:
    """One request as sent and its answer."""

    who: str
    # Whether the route is for this visitor; None when the path, once decoded, is not the
    # route's at all (an id with a "/" in it): the router answers, never the route's guard.
    allowed: bool | None
    sent: bytes  # the body and the header values, to tell an echo from a leak
    status: int
    content_type: str
    body: str
    location: str
    request_id: str = ""  # x-request-id: the 500 page's reference, and the app's log line's


def leaks(exchange: Exchange, data_dir: Path) -> list[str]:
    """Markers in the answer that the request did not carry itself (a form comes back filled
    in as sent, so what was typed may legitimately be in the page), nor an earlier one (a page
    shows what was stored: "1 UNION SELECT ..." accepted as a signature line is on every note
    page after)."""
    sent = exchange.sent.decode("utf-8", "replace").lower()
    body = exchange.body
    for stored in INJECTIONS:
        body = body.replace(stored, "").replace(html.escape(stored), "")
    found = [
        f"leaks {marker!r}"
        for marker in (*LEAK_MARKERS, str(data_dir))
        if marker in body and marker.lower() not in sent
    ]
    if exchange.content_type.startswith("text/html"):
        found += [f"echoes {m!r} unescaped" for m in HOSTILE_MARKUP if m in exchange.body]
    return found


def refused_by_guard(exchange: Exchange) -> bool:
    """How the route guard turns away a visitor the route is not for."""
    if exchange.who == SIGNED_OUT:
        return exchange.status == 401
    if exchange.who == PASSWORD_ONLY:
        return exchange.status == 303 and exchange.location == "/login/mfa"
    return exchange.status == 403


def changes(before: Census, after: Census) -> list[str]:
    """What a refused request changed, the audit trail apart."""
    found = [
        f"{table}: {before.rows.get(table, 0)} -> {count} rows"
        for table, count in after.rows.items()
        if table not in AUDIT_TABLES and before.rows.get(table, 0) != count
    ]
    if before.files != after.files:
        added, removed = sorted(after.files - before.files), sorted(before.files - after.files)
        found.append(f"files: added {added}, removed {removed}")
    return found


def judge(
    exchange: Exchange, before: Census, after: Census, appliance: Appliance
) -> tuple[list[str], list[str]]:
    """(what is wrong with the answer, what was left half made)."""
    wrong = []
    if exchange.status >= 500:
        wrong.append(f"status {exchange.status}")
    wrong += leaks(exchange, appliance.settings.data_dir)
    if exchange.allowed is False and not refused_by_guard(exchange):
        wrong.append(f"{exchange.who} got {exchange.status}, not the route guard's refusal")
    if exchange.allowed is None and exchange.status not in (404, 405):
        wrong.append(f"{exchange.status} for a path of no route")
    half_made = []
    if exchange.status >= 300 and not (exchange.status == 303 and exchange.allowed):
        # Refused (or redirected by the guard): nothing may have changed.
        half_made += changes(before, after)
    half_made += incomplete(appliance, before, after)
    return wrong, half_made


# -- completeness of what an accepted request made --------------------------------------------


def _key_references() -> list[tuple[str, str]]:
    """Every (table, column) that points at a data key."""
    return [
        (table.name, column.name)
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if any(fk.column.table.name == DataKey.__tablename__ for fk in column.foreign_keys)
    ]


def _new(before: Census, after: Census, table: str) -> list[str]:
    return sorted(after.ids[table] - before.ids[table])


def incomplete(appliance: Appliance, before: Census, after: Census) -> list[str]:
    """Whatever the request made that is not whole: a data key nothing uses (or already
    shredded), a dictation without its recording or its notes, a sealed file without its
    dictation, an account without its setup link, a client, psychotherapy notes or a template
    without their content."""
    found = []
    referenced = " UNION ".join(
        f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"  # noqa: S608
        for table, column in _key_references()
    )
    with appliance.unit_of_work() as db:
        orphans = db.exec(  # type: ignore[call-overload]
            text(
                f"SELECT id, purpose FROM data_keys WHERE id > :last AND id NOT IN ({referenced})"  # noqa: S608
            ).bindparams(last=before.last_data_key)
        ).all()
        found += [f"data key {key_id} ({purpose}) used by nothing" for key_id, purpose in orphans]
        for dictation_id in _new(before, after, "dictations"):
            found += _dictation_problems(appliance, db, db.get(Dictation, dictation_id))
        for user_id in _new(before, after, "users"):
            tokens = db.exec(
                text("SELECT COUNT(*) FROM setup_tokens WHERE user_id = :id").bindparams(
                    id=int(user_id)
                )
            ).one()[0]
            if not tokens:
                found.append(f"user {user_id} has no setup link")
        for table, needed in (
            ("clients", "display_name_sealed"),
            ("process_notes", "body_sealed"),
            ("note_templates", "sections"),
        ):
            for row_id in _new(before, after, table):
                value = db.exec(
                    text(f"SELECT {needed} FROM {table} WHERE id = :id").bindparams(id=row_id)  # noqa: S608
                ).one()[0]
                if not value:
                    found.append(f"{table} {row_id} has no {needed}")
        wrapped = db.exec(
            select(DataKey.id).where(DataKey.id > before.last_data_key, DataKey.wrapped == None)  # noqa: E711
        ).all()
        found += [f"data key {key_id} created already shredded" for key_id in wrapped]
        found += _sealed_files_problems(appliance, db)
    return found


def _dictation_problems(appliance: Appliance, db: Any, row: Dictation | None) -> list[str]:
    if row is None:
        return ["a new dictation is gone again"]
    problems = []
    if row.source == "typed":
        if not read_transcript(db, appliance.keys, row):
            problems.append(f"typed dictation {row.id} has no transcript")
    elif row.source == audio_store.STREAMED:
        # A recording starts with its audio key and no audio (its chunks: _chunk_problems).
        if row.audio_key_id is None or row.chunks_received or row.state != "recording":
            problems.append(f"streamed dictation {row.id} did not start as an empty recording")
        return problems
    elif row.audio_key_id is None or row.audio_bytes is None:
        problems.append(f"recorded dictation {row.id} has no audio key")
    else:
        key = open_record_key(db, appliance.keys.keks, row.audio_key_id)
        try:
            audio = audio_store.read_sealed(appliance.settings.data_dir, row.id, key)
        except FileNotFoundError:
            problems.append(f"recorded dictation {row.id} has no sealed audio")
        else:
            if len(audio) != row.audio_bytes:
                problems.append(f"dictation {row.id}: {len(audio)} audio bytes sealed")
    if row.state not in ("queued", "drafting"):
        problems.append(f"dictation {row.id} starts in state {row.state}")
    return problems


def _chunk_problems(appliance: Appliance, db: Any) -> list[str]:
    """A streamed recording's chunk files are exactly the ones its row counts whose audio is
    not yet shredded (appliance.records.recording_audio), each opening under its own key; those
    and the shredded ones are together as many bytes as the row says; none without a
    recording."""
    directory = audio_store.audio_dir(appliance.settings.data_dir)
    problems = []
    for folder in sorted(directory.glob("*.chunks")):
        row = db.get(Dictation, folder.name.removesuffix(".chunks"))
        if row is None or row.audio_key_id is None or row.audio_deleted_at is not None:
            problems.append(f"chunks {folder.name} without their recording")
            continue
        chunks = db.exec(select(RecordingChunk).where(RecordingChunk.dictation_id == row.id)).all()
        live = {c.sequence: c for c in chunks if db.get(DataKey, c.data_key_id).wrapped}
        names = sorted(p.name for p in folder.iterdir())
        expected = [f"{n:06d}.sealed" for n in range(row.chunks_received) if n in live]
        if names != expected or len(chunks) != row.chunks_received:
            problems.append(f"{folder.name}: files {names}, counted {row.chunks_received}")
            continue
        size = sum(c.byte_count for c in chunks if c.sequence not in live)
        for n, c in live.items():
            key = open_record_key(db, appliance.keys.keks, c.data_key_id)
            size += len(audio_chunks.read_chunk(appliance.settings.data_dir, row.id, key, n))
        if size != row.audio_bytes:
            problems.append(f"{folder.name}: {size} bytes sealed, {row.audio_bytes} counted")
    return problems


def _sealed_files_problems(appliance: Appliance, db: Any) -> list[str]:
    """Every sealed recording belongs to a dictation whose audio is not yet shredded."""
    directory = audio_store.audio_dir(appliance.settings.data_dir)
    names = sorted(p.name for p in directory.iterdir() if not p.name.endswith(".chunks"))
    problems = [f"partial file {n}" for n in names if not n.endswith(".sealed")]
    problems += _chunk_problems(appliance, db)
    sealed = {n.removesuffix(".sealed") for n in names if n.endswith(".sealed")}
    holders = set(
        db.exec(
            select(Dictation.id).where(
                Dictation.audio_key_id != None,  # noqa: E711
                Dictation.audio_deleted_at == None,  # noqa: E711
            )
        ).all()
    )
    problems += [f"sealed file {n} without its dictation" for n in sorted(sealed - holders)]
    return problems


# -- one request, judged ----------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    exchange: Exchange
    wrong: list[str]
    half_made: list[str]

    def report(self, form: HostileForm) -> str:
        problems = "; ".join(self.wrong + self.half_made)
        return (
            f"{form.describe()} -> {self.exchange.status}: {problems}\n{self.exchange.body[:600]}"
        )


def post(world: World, form: HostileForm) -> Verdict:
    """Send `form` as its visitor, and judge the answer and what it left behind."""
    browser = world.browser_of(form.who)
    path, headers, body = build(form, world.csrf_of(form.who), world.note_version())
    before = take_census(world.appliance)
    response = browser.request("POST", path, content=body, headers=headers, follow_redirects=False)
    after = take_census(world.appliance)
    exchange = Exchange(
        who=form.who,
        allowed=(
            form.who in allowed_visitors("POST", form.route)
            if compile_path(form.route)[0].match(response.request.url.path)
            else None
        ),
        sent=b" ".join(
            [
                body,
                unquote_to_bytes(body.replace(b"+", b" ")),
                *(v.encode() for v in headers.values()),
                unquote(path).encode(),
            ]
        ),
        status=response.status_code,
        content_type=response.headers.get("content-type", ""),
        body=response.text,
        location=response.headers.get("location", ""),
        request_id=response.headers.get("x-request-id", ""),
    )
    wrong, half_made = judge(exchange, before, after, world.appliance)
    return Verdict(exchange, wrong, half_made)
