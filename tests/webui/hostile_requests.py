"""Hypothesis strategies for hostile posts to the web UI's routes, and how one is sent.

A `HostileForm` is drawn before anyone's form token is known: where the token goes, the body
holds TOKEN, replaced when the request is built. Each route's fields start from a value the
form would send (`valid_values`, or one read off the world's own pages); a few of them, or all,
are then replaced by something hostile or left out, and fields are repeated or added. The body
goes as the browser would send it most of the time, and otherwise as raw bytes with invalid
UTF-8, as multipart where none is expected (cut short, without its boundary, in a declared
charset such as UTF-7), or with a content type no form has.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_from_bytes

from hypothesis import strategies as st

from appliance import clock
from appliance.practice.note_templates import MAX_SECTIONS
from tests.served_app import DICTATION_FORM
from tests.webui.route_samples import PARAMETER
from tests.webui.test_route_matrix import SIGNED_OUT, VISITORS, allowed_visitors
from webui.posted import FORM_LIMIT
from webui.views.admin.settings import MAX_ROWS
from webui.views.clients import CLIENT_FIELDS
from webui.views.dictations import DETAIL_FIELDS

TOKEN = b"\x00CSRF\x00"  # where the visitor's form token goes, once it is known
CURRENT_VERSION = b"\x00VERSION\x00"  # where the sample note's version goes, read when sent
BOUNDARY = b"hostile-boundary-5e1f"
AUDIO_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
RECORDINGS = {
    name: (AUDIO_DIR / name).read_bytes()
    for name in ("hello.wav", "hello.ogg", "hello.webm", "hello.mp3", "hello.m4a", "hello.flac")
}

_SIGNING = ("password", "code", "version", "text")
_TEMPLATE = (
    "title",
    *(f"section_{n}_{part}" for n in range(1, MAX_SECTIONS + 1) for part in ("title", "guidance")),
)
# The review page's own fields (webui/note_form.py) for the sample note's two statements.
_NOTE_FORM = (
    "version",
    *(f"st-{n}-{part}" for n in (1, 2) for part in ("id", "section", "text", "detach", "delete")),
    "new-subjective",
    "new-plan",
    "new-risk",
    "fn-homework",
    "fv-homework-0",
)
# Every field each route's view reads (webui/views); a POST route missing here fails
# test_every_post_route_has_its_fields_listed.
FORM_FIELDS: dict[str, tuple[str, ...]] = {
    "/login": ("username", "password", "next"),
    "/login/mfa": ("code",),
    "/logout": (),
    "/session/keepalive": (),
    "/setup/{token}": ("username", "password", "password_again"),
    "/account/password": ("current_password", "new_password", "new_password_again"),
    "/account/signature-line": ("signature_line",),
    "/account/mfa/start": (),
    "/account/mfa/confirm": ("code",),
    "/clients": CLIENT_FIELDS,
    "/clients/{client_id}/dictations": (*DETAIL_FIELDS, "typed_text"),
    "/dictations/{dictation_id}/retry": (),
    "/clients/{client_id}/recordings": (*DETAIL_FIELDS, "audio_format"),
    "/dictations/{dictation_id}/chunks": ("sequence",),
    "/dictations/{dictation_id}/stop": (),
    "/dictations/{dictation_id}/review": (),
    "/notes/{note_id}": _NOTE_FORM,
    "/notes/{note_id}/flags/{flag_id}/ack": (),
    "/notes/{note_id}/suggestions": ("statement", "start", "end", "heard", "term"),
    "/notes/{note_id}/sign": _SIGNING,
    "/notes/{note_id}/addenda": _SIGNING,
    "/notes/{note_id}/copied": (),
    "/notes/{note_id}/cosign": ("password", "code"),
    "/notes/{note_id}/return": ("comment",),
    "/notes/{note_id}/process-note": ("process_note",),
    "/notes/{note_id}/process-note/release": ("released",),
    "/clients/{client_id}/export": ("include_process_notes",),
    "/exports/{export_id}/download": (),
    "/clients/{client_id}/delete": ("typed_name", "password", "code"),
    "/admin/users": ("username", "role"),
    "/admin/users/{user_id}/disable": (),
    "/admin/users/{user_id}/enable": (),
    "/admin/users/{user_id}/end-sessions": (),
    "/admin/users/{user_id}/unlock": (),
    "/admin/users/{user_id}/reset-mfa": (),
    "/admin/users/{user_id}/setup-link": (),
    "/admin/users/{user_id}/supervisor": ("supervisor",),
    "/admin/users/{user_id}/cosign": ("requires_cosign",),
    "/admin/settings": ("require_mfa", "retention", "retention_days", "note_due_days"),
    "/admin/settings/service-codes": tuple(
        f"{part}_{n}" for n in range(1, MAX_ROWS + 1) for part in ("code", "label")
    ),
    "/admin/templates": _TEMPLATE,
    "/admin/templates/{template_id}": _TEMPLATE,
    "/admin/templates/{template_id}/retire": (),
    "/admin/emergency": ("grantee", "owner", "reason", "hours"),
    "/admin/emergency/{grant_id}/revoke": (),
    "/admin/approvals/{request_id}/approve": (),
    "/admin/approvals/{request_id}/reject": (),
    "/admin/approvals/{request_id}/withdraw": (),
}
UPLOAD_ROUTES = frozenset({"/clients/{client_id}/dictations", "/dictations/{dictation_id}/chunks"})
# A password that passes the policy but is nobody's: a setup link redeemed with it works once.
NEW_PASSWORD = "amber-violet-canyon-93"


def valid_values() -> dict[str, tuple[str, ...]]:
    """What the forms send when a person fills them in as meant, beside what the world's own
    pages carry (World.seen). Passwords aside: the personas' is never sent, so no sign-in or
    re-authentication succeeds. A field the form leaves blank is sent as ""."""
    today = clock.utcnow().date().isoformat()
    return {
        **{name: (value,) for name, value in DICTATION_FORM.items()},
        "session_date": (today,),
        # Typed notes, or none: a recording may come instead.
        "typed_text": ("Client reported better sleep this week. She denies SI.", ""),
        # A streamed recording's start, and its chunks' numbers.
        "audio_format": ("s16le-16k-mono",),
        "sequence": ("0", "1"),
        "username": ("newcomer", "alice"),
        "password": (NEW_PASSWORD,),
        "password_again": (NEW_PASSWORD,),
        "new_password": (NEW_PASSWORD,),
        "new_password_again": (NEW_PASSWORD,),
        "current_password": ("not-the-password",),
        "next": ("/clients", ""),
        "code": ("123456", ""),
        "signature_line": ("Alice Smith, LMFT",),
        "display_name": ("Ann A",),
        "external_id": ("", "MRN-1"),
        "date_of_birth": ("1990-01-01", ""),
        "version": (CURRENT_VERSION.decode(),),
        "text": ("Addendum: phoned the client on Tuesday.",),
        "comment": ("Please add the plan.",),
        "process_note": ("Private reflection on the session.",),
        "released": ("yes", ""),
        "include_process_notes": ("yes", ""),
        "typed_name": ("Sample",),
        "role": ("clinician", "supervisor"),
        "supervisor": ("carol", ""),
        "requires_cosign": ("yes", ""),
        "require_mfa": ("",),
        "retention": ("days", "signed"),
        "retention_days": ("30",),
        "note_due_days": ("3",),
        "title": ("Hostile template",),
        "grantee": ("frank",),
        "owner": ("bob",),
        "reason": ("covering an absence",),
        "hours": ("1", "4"),
        # A suggested correction (the sample note offers none: refused as no longer fitting).
        "statement": ("s1",),
        "start": ("0",),
        "end": ("6",),
        "heard": ("Client",),
        "term": ("EMDR",),
        # Unticked boxes.
        **{f"st-{n}-{box}": ("",) for n in (1, 2) for box in ("detach", "delete")},
    }


# -- hostile values ---------------------------------------------------------------------------

INJECTIONS = (
    "' OR '1'='1",
    "'; DROP TABLE users; --",
    '" OR 1=1 --',
    "1 UNION SELECT password_hash FROM users",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example","x")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "{{7*7}}",
    "${7*7}",
    "{% include 'base.html' %}",
    "%s%s%s%n",
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "\r\nSet-Cookie: evil=1",
    "//evil.example",
    "/\\evil.example",
    "javascript:alert(1)",
    "\u202egnp.exe",
    "\ufeffalice",
    "\u200balice",
    "ALICE",
    " alice ",
    "alİce",
    "straße",
    "\U0001f600\U0001f600",
    "\U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522",
    "Z\u0351\u0352\u0353\u0354",
)
NUMBERS = (
    "-1",
    "0",
    "00",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "9" * 70,
    "-" + "9" * 30,
    "1e309",
    "NaN",
    "inf",
    "1.5",
    "0x10",
    "²",
    "¹²³",
    "٣",
    "\uff11\uff12",
    "\U0001d7d9",
    " 5",
    "5 ",
    "+5",
    "1_000",
)
DATES_AND_TIMES = (
    "2024-02-29",
    "2023-02-29",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "2026-13-01",
    "20261120",
    "2026-W47-5",
    "2026-11-20T10:00:00+14:00",
    "-2026-01-01",
    "24:00",
    "23:59",
    "9:00",
    "12:60",
    "12:00:00",
)
WORDS = (
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "nobody",
    "clinician",
    "supervisor",
    "admin",
    "auditor",
    "yes",
    "no",
    "on",
    "days",
    "forever",
    "soap",
    "birp",
    "custom:" + "0" * 32,
    "custom:",
    "cbt",
    "90834",
    "90791",
    "f1",
    "",
    " ",
)
# Around the limits the forms and the layers below them have: a service code (8) and its label
# (60), a username (64), a signature line (120), a password (128), an emergency reason (500),
# passlib's 4096, an addendum (10,000), psychotherapy notes (20,000), typed notes (50,000), a
# note (60,000), and the bodies: a form (64 KB), an addendum's (256 KB), a note's (1 MB).
LENGTHS = (
    8,
    9,
    60,
    61,
    64,
    65,
    120,
    121,
    128,
    129,
    500,
    501,
    4096,
    4097,
    10_000,
    10_001,
    20_001,
    50_000,
    50_001,
    60_001,
    FORM_LIMIT + 1,
    256 * 1024 + 1,
    1024 * 1024 + 1,
)
FILLERS = ("x", "é", "\x00", "\U0001d518", "'", "<", "%", "&", "=", " ", "\n", "9")
BAD_UTF8 = (b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf", b"\xe2\x82", b"\x80")

_short_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=24)
_controls = st.text(st.characters(max_codepoint=0x1F), min_size=1, max_size=6)
_long = st.builds(lambda c, n: c * n, st.sampled_from(FILLERS), st.sampled_from(LENGTHS))
_piece = st.one_of(
    st.sampled_from(INJECTIONS),
    st.sampled_from(NUMBERS),
    st.sampled_from(DATES_AND_TIMES),
    st.sampled_from(WORDS),
    _short_text,
    _controls,
)
hostile_text = st.one_of(
    _piece,
    _long,
    st.lists(_piece, min_size=2, max_size=4).map("".join),
)
# As bytes: most are text (long ones a good share), some are not UTF-8 at all.
hostile_value = st.one_of(
    hostile_text.map(lambda s: s.encode()),
    _long.map(lambda s: s.encode()),
    st.lists(
        st.one_of(st.sampled_from(BAD_UTF8), _piece.map(str.encode)), min_size=1, max_size=4
    ).map(b"".join),
    st.binary(max_size=24),
)
hostile_name = st.one_of(
    st.sampled_from(("csrf_token", "file", "", " ", "st-1-id", "version", "next", "a" * 300)),
    _short_text,
)
HOSTILE_IDS = (
    "0",
    "-1",
    "1",
    "2147483648",
    "9" * 20,
    "9" * 70,
    "x" * 70,
    "a" * 33,
    "0" * 32,
    "f" * 64,
    "²",
    "١٢٣",
    "\U0001d7d9",
    "\x00",
    "..",
    "%2e%2e",
    " ",
    "f1'--",
    "<script>alert(1)</script>",
    "null",
    "NaN",
    "1e9",
    "abc.pdf",
    "é" * 40,
)


# -- the form and its body --------------------------------------------------------------------


@dataclass(frozen=True)
class FilePart:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class HostileForm:
    who: str
    route: str  # as the route table has it: /notes/{note_id}
    path: str  # filled in, percent-encoded
    fields: tuple[tuple[str, bytes], ...]  # in order; TOKEN where the form token goes
    encoding: str
    csrf_header: bytes | None = None
    file: FilePart | None = None
    accept: str = "text/html"
    cut_at: int | None = None  # the body is cut short at this percentage of its length
    charset: str | None = None  # the multipart body's declared charset, if any

    def describe(self) -> str:
        return f"{self.who} POST {self.path} ({self.encoding})"

    def __repr__(self) -> str:
        # Short enough to read in a failure: long values as their start and their length.
        def short(value: bytes) -> str:
            return repr(value) if len(value) <= 80 else f"{value[:40]!r}...({len(value)} bytes)"

        fields = ", ".join(f"({name[:80]!r}, {short(value)})" for name, value in self.fields)
        file = None if self.file is None else (self.file.filename[:80], short(self.file.data))
        return (
            f"HostileForm(who={self.who!r}, route={self.route!r}, path={self.path[:200]!r}, "
            f"fields=({fields}), encoding={self.encoding!r}, csrf_header={self.csrf_header!r}, "
            f"file={file!r}, accept={self.accept!r}, cut_at={self.cut_at!r}, "
            f"charset={self.charset!r})"
        )


CSRF_MODES = ("field", "header", "missing", "wrong", "not ascii", "twice")
# Starlette decodes multipart fields in the charset the request declares.
CHARSETS = ("utf-16", "utf-16-be", "utf-32", "utf-7", "latin-1", "utf-8", "no-such-charset")
ENCODINGS = (
    "urlencoded",
    "urlencoded raw",
    "multipart",
    "multipart cut short",
    "multipart without boundary",
    "text/plain",
    "application/json",
    "none",
)


def _token_fields(mode: str, draw: st.DrawFn) -> tuple[list[tuple[str, bytes]], bytes | None]:
    if mode == "field":
        return [("csrf_token", TOKEN)], None
    if mode == "header":
        return [], TOKEN
    if mode == "missing":
        return [], None
    if mode == "wrong":
        return [("csrf_token", draw(st.binary(min_size=32, max_size=32)).hex().encode())], None
    if mode == "twice":
        return [("csrf_token", b"stale"), ("csrf_token", TOKEN)], None
    return [("csrf_token", draw(hostile_value))], None


def _weighted(draw: st.DrawFn, common: str, others: tuple[str, ...], common_share: int) -> str:
    """`common` in about `common_share` draws out of 10, else one of `others`."""
    if draw(st.integers(0, 9)) < common_share:
        return common
    return draw(st.sampled_from(others))


@st.composite
def _audio(draw: st.DrawFn) -> FilePart | None:
    kind = draw(
        st.sampled_from(
            ("none", "empty", "recording", "random", "magic", "cut short", "mutated", "recording")
        )
    )
    name, data = draw(st.sampled_from(sorted(RECORDINGS.items())))
    if kind == "none":
        return None
    if kind == "empty":
        data, name = b"", ""
    elif kind == "random":
        data = draw(st.binary(min_size=1, max_size=2048))
    elif kind == "magic":
        magic = draw(
            st.sampled_from((b"RIFF", b"OggS", b"fLaC", b"\x1a\x45\xdf\xa3", b"ID3", b"\xff\xfb"))
        )
        data = magic + draw(st.binary(max_size=2048))
        if draw(st.booleans()):
            data = b"\0\0\0\x18ftyp" + data
    elif kind == "cut short":
        data = data[: draw(st.integers(1, len(data) - 1))]
    elif kind == "mutated":
        mutable = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.one_of(st.integers(0, 127), st.integers(0, len(data) - 1)))
            mutable[at] = draw(st.integers(0, 255))
        data = bytes(mutable)
    filename = draw(st.one_of(st.just(name), _piece))
    content_type = draw(
        st.sampled_from(("audio/wav", "application/octet-stream", "audio/webm", "text/html", ""))
    )
    return FilePart(filename, content_type, data)


@st.composite
def hostile_forms(
    draw: st.DrawFn,
    path: str,
    path_values: dict[str, tuple[str, ...]],
    seen: dict[str, tuple[str, ...]],
) -> HostileForm:
    """A hostile post to route `path`; `path_values`: the world's ids for its parameters;
    `seen`: field name -> values the world's own pages carry (statement ids, versions)."""
    allowed = allowed_visitors("POST", path)
    refused = [v for v in VISITORS if v not in allowed]
    who = draw(st.sampled_from(allowed))
    if refused and draw(st.integers(0, 9)) < 2:
        who = draw(st.sampled_from(refused))
    elif SIGNED_OUT not in allowed and draw(st.integers(0, 19)) == 0:
        who = SIGNED_OUT
    foreign = sorted({v for values in path_values.values() for v in values})

    def fill(name: str) -> str:
        choice = draw(st.integers(0, 19))
        if choice < 15:
            value = draw(st.sampled_from(path_values[name]))
        elif choice < 17:
            value = draw(st.sampled_from(foreign))  # an id of another kind
        else:
            value = draw(st.sampled_from(HOSTILE_IDS))
        return quote(value, safe="%")

    filled = PARAMETER.sub(lambda m: fill(m.group(1)), path)
    valid = valid_values()
    names = FORM_FIELDS[path]
    # Most forms are filled in as meant but for a few fields; some are hostile throughout.
    if not names or draw(st.integers(0, 9)) == 0:
        corrupt = set(names)
    else:
        how_many = min(len(names), draw(st.sampled_from((0, 1, 1, 2, 3))))
        picked = st.lists(
            st.integers(0, len(names) - 1), min_size=how_many, max_size=how_many, unique=True
        )
        corrupt = {names[i] for i in draw(picked)}
    fields: list[tuple[str, bytes]] = []
    for name in names:
        if name not in corrupt:
            options = valid.get(name, ())
            if options != ("",):  # a box left unticked stays so: its page's value would tick it
                options = (*options, *seen.get(name, ()))
            options = options or ("",)
            fields.append((name, draw(st.sampled_from(options)).encode()))
        elif draw(st.integers(0, 5)) > 0:  # else left out
            fields.append((name, draw(hostile_value)))
    for _ in range(draw(st.integers(0, 2))):
        if fields and draw(st.booleans()):
            fields.append((draw(st.sampled_from(fields))[0], draw(hostile_value)))  # repeated
        else:
            fields.append((draw(hostile_name), draw(hostile_value)))
    fields = draw(st.permutations(fields)) if draw(st.integers(0, 4)) == 0 else fields
    mode = _weighted(draw, "field", CSRF_MODES[1:], 9)
    token_fields, header = _token_fields(mode, draw)
    upload = path in UPLOAD_ROUTES
    encoding = _weighted(
        draw,
        "multipart" if upload else "urlencoded",
        tuple(e for e in ENCODINGS if e != ("multipart" if upload else "urlencoded")),
        9,
    )
    file = draw(_audio()) if encoding.startswith("multipart") else None
    cut = draw(st.integers(1, 99)) if encoding == "multipart cut short" else None
    charset = None
    if encoding.startswith("multipart") and draw(st.integers(0, 4)) == 0:
        charset = draw(st.sampled_from(CHARSETS))
    return HostileForm(
        who=who,
        route=path,
        path=filled,
        fields=tuple(token_fields + fields),
        encoding=encoding,
        csrf_header=header,
        file=file,
        accept=draw(st.sampled_from(("text/html", "text/html", "application/json"))),
        cut_at=cut,
        charset=charset,
    )


def _urlencoded(fields: tuple[tuple[str, bytes], ...]) -> bytes:
    return b"&".join(
        quote_from_bytes(name.encode()).encode() + b"=" + quote_from_bytes(value).encode()
        for name, value in fields
    )


def _multipart(
    fields: tuple[tuple[str, bytes], ...], file: FilePart | None, boundary: bytes
) -> bytes:
    parts = []
    for name, value in fields:
        parts.append(
            b'Content-Disposition: form-data; name="'
            + name.replace('"', "%22").encode()
            + b'"\r\n\r\n'
            + value
        )
    if file is not None:
        parts.append(
            b'Content-Disposition: form-data; name="file"; filename="'
            + file.filename.replace('"', "%22").replace("\r", "").replace("\n", "").encode()
            + b'"\r\nContent-Type: '
            + (file.content_type.encode() or b"application/octet-stream")
            + b"\r\n\r\n"
            + file.data
        )
    return b"".join(b"--" + boundary + b"\r\n" + p + b"\r\n" for p in parts) + (
        b"--" + boundary + b"--\r\n"
    )


def build(form: HostileForm, token: str, version: int) -> tuple[str, dict[str, str], bytes]:
    """The URL, headers and body of `form`, with `token` where TOKEN stands and the sample
    note's `version` where CURRENT_VERSION does."""
    fields = tuple(
        (n, v.replace(TOKEN, token.encode()).replace(CURRENT_VERSION, str(version).encode()))
        for n, v in form.fields
    )
    headers = {"accept": form.accept}
    if form.csrf_header is not None:
        headers["x-csrf-token"] = form.csrf_header.replace(TOKEN, token.encode()).decode()
    if form.encoding == "urlencoded":
        body = _urlencoded(fields)
        headers["content-type"] = "application/x-www-form-urlencoded"
    elif form.encoding == "urlencoded raw":
        body = b"&".join(name.encode() + b"=" + value for name, value in fields)
        headers["content-type"] = "application/x-www-form-urlencoded; charset=latin-1"
    elif form.encoding.startswith("multipart"):
        body = _multipart(fields, form.file, BOUNDARY)
        headers["content-type"] = f"multipart/form-data; boundary={BOUNDARY.decode()}"
        if form.encoding == "multipart without boundary":
            headers["content-type"] = "multipart/form-data"
        if form.charset is not None:
            headers["content-type"] += f"; charset={form.charset}"
        if form.cut_at is not None:
            body = body[: len(body) * form.cut_at // 100]
    elif form.encoding == "application/json":
        body = b"{" + b",".join(b'"%s":"%s"' % (n.encode(), v) for n, v in fields) + b"}"
        headers["content-type"] = "application/json"
    else:
        body = _urlencoded(fields)
        if form.encoding == "text/plain":
            headers["content-type"] = "text/plain"
    return form.path, headers, body
