"""`appliance` command line: init, migrate, serve, user management, settings reference."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlmodel import Session

from appliance.audit.verification import verify_and_record
from appliance.cli.draft import DraftCommandError
from appliance.crypto.kek_registry import KeyMismatch
from appliance.crypto.keyfiles import KeyFileError, KeyPaths
from appliance.crypto.rotation import rotate_kek
from appliance.db import make_engine
from appliance.identity import accounts
from appliance.identity.accounts import AccountError
from appliance.identity.mfa import reset_mfa
from appliance.identity.setup_links import (
    issue_user_setup_link,
    reissue_setup_link,
    url_for_token,
)
from appliance.logging_setup import configure_logging
from appliance.migrate import current_revision
from appliance.models import User
from appliance.records.dictations import MODALITIES, NOTE_FORMATS
from appliance.roles import Role
from appliance.runtime import Appliance, initialise, open_appliance
from appliance.settings import (
    Settings,
    SettingsError,
    documented_settings,
    env_name,
    load_settings,
)

EXIT_CHAIN_BROKEN = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A message for the operator; the command exits non-zero with it."""


def _print_first_admin(url: str | None) -> None:
    if url:
        print("No admin account exists yet. Open this one-time link (valid for a limited time)")
        print("to create the first admin:")
        print(f"\n    {url}\n")


def cmd_init(settings: Settings, _args: argparse.Namespace) -> int:
    appliance, report = initialise(settings)
    for name in report.created_keys:
        print(f"created key file {settings.resolved_keys_dir / name}")
    print(f"database ready at revision {current_revision(appliance.engine)}")
    _print_first_admin(report.first_admin_url)
    return 0


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    # Read before open_appliance migrates, so that the output says whether anything moved: the
    # Ansible role reports the upgrade as a change exactly when the schema did change.
    engine = make_engine(settings.resolved_database_url)
    try:
        before = current_revision(engine)
    finally:
        engine.dispose()
    appliance = open_appliance(settings)
    after = current_revision(appliance.engine)
    if after == before:
        print(f"database already at revision {after}")
    else:
        print(f"database migrated from revision {before or 'none'} to {after}")
    return 0


def _check_processes(settings: Settings, processes: int) -> None:
    """Several web processes need a database that takes several writers, and enough failures
    per address that each process's share of them is at least one (webui.throttle)."""
    if processes == 1:
        return
    if settings.resolved_database_url.startswith("sqlite"):
        raise CommandError(
            f"--workers {processes} needs PostgreSQL: SQLite takes one writer at a time, so on "
            "SQLite the appliance serves from one process (set APPLIANCE_DATABASE_URL to a "
            "PostgreSQL database, or drop --workers)"
        )
    if processes > settings.lockout_threshold - 1:
        raise CommandError(
            f"--workers {processes} is more than APPLIANCE_LOCKOUT_THRESHOLD - 1 "
            f"({settings.lockout_threshold - 1}): each process throttles its share of one "
            "address's sign-in failures, and a share must be at least one"
        )


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from webui.app import create_app

    host = args.host or settings.host
    port = args.port or settings.port
    processes = args.workers or settings.web_workers
    _check_processes(settings, processes)
    # Migrates once, here, before any web process opens the database.
    appliance = open_appliance(settings)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        # Uvicorn's access log prints raw paths, which can hold setup tokens; our middleware
        # logs the route template instead.
        "access_log": False,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.trusted_proxies,
        "server_header": False,
        "log_config": None,
        "limit_concurrency": settings.max_connections,  # per process
    }
    if processes == 1:
        print(f"appliance ready: http://{host}:{port}", flush=True)
        uvicorn.run(create_app(appliance, background_tasks=True), **options)
        return 0
    appliance.engine.dispose()  # each process opens its own; this one only supervises them
    _serve_processes(settings, processes, options)
    return 0


def _serve_processes(settings: Settings, processes: int, options: dict[str, Any]) -> None:
    """uvicorn's supervisor over `processes` web processes, each calling the app factory."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from appliance.metrics import count_across_processes

    count_across_processes(settings.data_dir)
    # The processes read their settings from the environment they inherit.
    os.environ[env_name("web_workers")] = str(processes)
    config = uvicorn.Config(
        "webui.app:create_app_from_settings", factory=True, workers=processes, **options
    )
    listener = config.bind_socket()
    # uvicorn makes this socket without naming TCP, so asyncio does not recognise the
    # connections accepted from it as TCP and leaves Nagle's algorithm on: each response's last
    # segment then waits for the client's delayed ACK, some 40 ms a request (a page measured
    # 60 ms instead of 20). Set on the listener, Linux passes it to every accepted connection.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    address = f"http://{options['host']}:{options['port']}"
    print(f"appliance ready: {address} ({processes} processes)", flush=True)
    Multiprocess(config, sockets=[listener]).run()


def _read_password(args: argparse.Namespace) -> str | None:
    if not args.password_stdin:
        return None
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise CommandError("--password-stdin given but no password arrived on standard input")
    return password


def _find(db: Session, name: str) -> User:
    user = accounts.find_user(db, name)
    if user is None:
        raise CommandError(f"no user named {name!r}")
    return user


def cmd_user_add(settings: Settings, args: argparse.Namespace) -> int:
    appliance = open_appliance(settings)
    role = accounts.parse_role(args.role)
    password = _read_password(args)
    with appliance.unit_of_work() as db:
        user = accounts.create_user(db, args.name, role, password=password, by=None)
        token = None if password else issue_user_setup_link(db, settings, user, by=None)
    print(f"created {role.value} {user.username}")
    if token:
        print(f"setup link (one-time): {url_for_token(settings, token)}")
    return 0


def _user_action(
    action: Callable[[Appliance, Session, User], str],
) -> Callable[[Settings, argparse.Namespace], int]:
    def run(settings: Settings, args: argparse.Namespace) -> int:
        appliance = open_appliance(settings)
        with appliance.unit_of_work() as db:
            user = _find(db, args.name)
            print(action(appliance, db, user))
        return 0

    return run


def _disable(_a: Appliance, db: Session, user: User) -> str:
    accounts.disable_user(db, user, by=None)
    return f"disabled {user.username}; their sessions have ended"


def _enable(_a: Appliance, db: Session, user: User) -> str:
    accounts.enable_user(db, user, by=None)
    return f"enabled {user.username}"


def _setup_link(a: Appliance, db: Session, user: User) -> str:
    token = reissue_setup_link(db, a.settings, user, by=None)
    return f"setup link (one-time): {url_for_token(a.settings, token)}"


def _end_sessions(_a: Appliance, db: Session, user: User) -> str:
    count = accounts.end_all_sessions(db, user.id, reason="ended_by_admin")
    return f"ended {count} session(s) of {user.username}"


def _reset_mfa(_a: Appliance, db: Session, user: User) -> str:
    reset_mfa(db, user, by=None)
    return f"two-factor sign-in reset for {user.username}; they enrol again at next sign-in"


def cmd_user_list(settings: Settings, _args: argparse.Namespace) -> int:
    appliance = open_appliance(settings)
    with appliance.unit_of_work() as db:
        for user in accounts.list_users(db):
            state = "active" if user.is_active else "disabled"
            mfa = "mfa" if user.mfa_enabled else "no-mfa"
            print(f"{user.username:<24} {user.role:<10} {state:<8} {mfa}")
    return 0


def cmd_user_supervise(settings: Settings, args: argparse.Namespace) -> int:
    appliance = open_appliance(settings)
    with appliance.unit_of_work() as db:
        clinician = _find(db, args.clinician)
        supervisor = _find(db, args.supervisor) if args.supervisor else None
        accounts.assign_supervisor(db, clinician, supervisor, by=None)
    who = supervisor.username if supervisor else "nobody"
    print(f"{clinician.username} is now supervised by {who}")
    return 0


def cmd_audit_verify(settings: Settings, _args: argparse.Namespace) -> int:
    appliance = open_appliance(settings)
    report = verify_and_record(appliance.engine, appliance.keys.audit)
    if report.ok:
        print(f"audit chain intact: {report.count} events")
        return 0
    print(
        f"audit chain BROKEN at event {report.first_bad_seq}: {report.problem} "
        f"({report.count} events verified before it)",
        file=sys.stderr,
    )
    return EXIT_CHAIN_BROKEN


def cmd_keys_rotate(settings: Settings, _args: argparse.Namespace) -> int:
    appliance = open_appliance(settings)
    print("rotating the KEK; keep the appliance service stopped until this finishes", flush=True)
    report = rotate_kek(appliance.engine, KeyPaths.from_settings(settings))
    verb = "resumed and finished" if report.resumed else "finished"
    print(
        f"key rotation {verb}: {report.rewrapped} data key(s) now under KEK {report.new_kid} "
        f"(was {report.old_kid}); the old KEK file is gone"
    )
    return 0


def cmd_draft(settings: Settings, args: argparse.Namespace) -> int:
    import json

    from appliance.cli.draft import draft_file, load_template_file, render_text

    note_format = load_template_file(args.template_file) if args.template_file else args.format
    result = draft_file(settings, args.file, args.modality, note_format)
    print(json.dumps(result.as_json(), indent=2) if args.json else render_text(result))
    return 0


def cmd_settings(_settings: Settings | None, _args: argparse.Namespace) -> int:
    print("| Environment variable | Default | Meaning |")
    print("|---|---|---|")
    for env, default, description in documented_settings():
        shown = f"`{default}`" if default else "*empty*"
        print(f"| `{env}` | {shown} | {description} |")
    return 0


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more (got {value})")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="appliance", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init", help="create data dir, keys and database; print the first-admin link")
    sub.add_parser("migrate", help="bring the database schema up to date")
    serve = sub.add_parser("serve", help="run the web UI")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--workers",
        type=_positive,
        metavar="N",
        help="web processes (PostgreSQL only; default APPLIANCE_WEB_WORKERS, 1)",
    )
    sub.add_parser("settings", help="print every setting as a Markdown table")
    audit = sub.add_parser("audit", help="audit log").add_subparsers(
        dest="audit_command", required=True
    )
    audit.add_parser("verify", help="walk the HMAC chain; exit 1 naming the first bad event")
    keys = sub.add_parser("keys", help="key management").add_subparsers(
        dest="keys_command", required=True
    )
    keys.add_parser("rotate", help="new KEK, re-wrap every data key (resumable)")
    draft = sub.add_parser("draft", help="draft a note from an audio or .txt file (nothing stored)")
    draft.add_argument("file", type=Path)
    draft.add_argument("--modality", required=True, choices=sorted(MODALITIES))
    chosen = draft.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--format", choices=sorted(NOTE_FORMATS))
    chosen.add_argument(
        "--template-file",
        type=Path,
        help='a custom template as JSON: {"title", "sections": [{"title", "guidance"}]}',
    )
    draft.add_argument("--json", action="store_true", help="one JSON object (documented schema)")

    user = sub.add_parser("user", help="manage accounts").add_subparsers(
        dest="user_command", required=True
    )
    add = user.add_parser(
        "add", help="add an account (prints a setup link unless a password is given)"
    )
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    for name, help_text in (
        ("disable", "disable an account and end its sessions"),
        ("enable", "re-enable an account"),
        ("setup-link", "issue a new one-time password setup link"),
        ("end-sessions", "sign a person out everywhere"),
        ("reset-mfa", "turn off a person's second factor so they enrol again"),
    ):
        user.add_parser(name, help=help_text).add_argument("name")
    user.add_parser("list", help="list accounts")
    supervise = user.add_parser("supervise", help="assign a clinician's supervisor")
    supervise.add_argument("clinician")
    supervise.add_argument("supervisor", nargs="?", help="omit to remove the supervisor")
    return parser


HANDLERS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "init": cmd_init,
    "migrate": cmd_migrate,
    "serve": cmd_serve,
    "user add": cmd_user_add,
    "user disable": _user_action(_disable),
    "user enable": _user_action(_enable),
    "user setup-link": _user_action(_setup_link),
    "user end-sessions": _user_action(_end_sessions),
    "user reset-mfa": _user_action(_reset_mfa),
    "user list": cmd_user_list,
    "user supervise": cmd_user_supervise,
    "audit verify": cmd_audit_verify,
    "keys rotate": cmd_keys_rotate,
    "draft": cmd_draft,
}


def main(argv: Sequence[str] | None = None) -> int:
    # Everything this process writes (database, keys, later uploads) is for its own account only.
    os.umask(0o077)
    args = build_parser().parse_args(argv)
    if args.command == "settings":
        return cmd_settings(None, args)
    sub_command = getattr(args, f"{args.command}_command", None)
    key = f"{args.command} {sub_command}" if sub_command else args.command
    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        return HANDLERS[key](settings, args)
    except (
        SettingsError,
        KeyFileError,
        KeyMismatch,
        AccountError,
        CommandError,
        DraftCommandError,
    ) as exc:
        print(f"appliance: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
