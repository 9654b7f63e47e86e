"""The appliance role's upgrade snapshots, run on the host as the service account.

    release_snapshot.py take FOLDER      copy the database into FOLDER (the marker from stdin)
    release_snapshot.py restore FOLDER   put FOLDER's copy back in place of the database
    release_snapshot.py retire FOLDER    rename a restored FOLDER so no later rollback reuses it

The database comes from APPLIANCE_SNAPSHOT_DATABASE_URL (in the environment, never in argv: a
PostgreSQL URL holds a password): SQLite is copied with its online backup API, PostgreSQL with
pg_dump -Fc and put back, in one transaction, after everything the app's role owns is dropped.
"""

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

# libpq's connection parameters that database_url may carry in its query string.
LIBPQ_QUERY = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}


def sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite"):
        return None
    return Path(url.split(":///", 1)[1].split("?", 1)[0])


def libpq(url: str) -> tuple[dict[str, str], str]:
    """libpq's environment for the URL, password included, and the database name."""
    parts = urlsplit(url)
    env = dict(os.environ)
    env.update(
        PGHOST=parts.hostname or "",
        PGPORT=str(parts.port or 5432),
        PGUSER=unquote(parts.username or ""),
        PGPASSWORD=unquote(parts.password or ""),
    )
    for key, value in parse_qsl(parts.query):
        if key in LIBPQ_QUERY:
            env[LIBPQ_QUERY[key]] = value
    return env, unquote(parts.path.lstrip("/"))


def copy_sqlite(source: Path, target: Path) -> None:
    # Both must exist: connecting to a missing file would quietly create an empty database.
    if not source.is_file():
        sys.exit(f"{source} does not exist: there is no database to copy")
    reader, writer = sqlite3.connect(source), sqlite3.connect(target)
    try:
        reader.backup(writer)
        verdict = writer.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        reader.close()
        writer.close()
    if verdict != "ok":
        sys.exit(f"the copy in {target} fails PRAGMA quick_check: {verdict}")


def take(folder: Path, url: str) -> None:
    # Written under a temporary name and renamed when complete, so that an interrupted snapshot
    # is never mistaken for the one a rollback restores.
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(mode=0o700)
    database = sqlite_path(url)
    if database is not None:
        copy_sqlite(database, partial / "appliance.db")
    else:
        env, name = libpq(url)
        dump = partial / "appliance.dump"
        argv = ["pg_dump", "--format=custom", "--no-password", f"--file={dump}", name]
        subprocess.run(argv, env=env, check=True)  # noqa: S603 (our own argv, no shell)
    (partial / "release.json").write_text(sys.stdin.read())
    partial.rename(folder)
    print(f"snapshot of the database taken in {folder}")


def restore(folder: Path, url: str) -> None:
    database = sqlite_path(url)
    if database is not None:
        # Through the backup API into the live file, not a file copy: SQLite replaces every page
        # and drops the newer release's write-ahead log with them.
        if not database.exists():
            sys.exit(f"{database} does not exist: nothing to restore into")
        copy_sqlite(folder / "appliance.db", database)
    else:
        # pg_restore --clean alone would drop only what the dump holds, leaving the tables the
        # newer release's migrations added (and a second upgrade failing on them). Instead, in one
        # transaction: drop everything the app's role owns, then replay the dump.
        env, name = libpq(url)
        script = folder / "restore.sql"
        dump = folder / "appliance.dump"
        try:
            replay = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges"]
            replay += [f"--file={script}", str(dump)]
            subprocess.run(replay, env=env, check=True)  # noqa: S603 (our own argv, no shell)
            psql = ["psql", "--no-psqlrc", "--quiet", "--single-transaction", "--no-password"]
            psql += ["--set=ON_ERROR_STOP=1", f"--dbname={name}"]
            psql += ["--command=DROP OWNED BY CURRENT_USER", f"--file={script}"]
            subprocess.run(psql, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
        finally:
            script.unlink(missing_ok=True)
    print(f"database restored from {folder}")


def retire(folder: Path) -> None:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    kept = folder.with_name(f"{folder.name}.restored-{stamp}")
    folder.rename(kept)
    print(f"restored snapshot kept as {kept}")


def main() -> None:
    os.umask(0o077)
    action, folder = sys.argv[1], Path(sys.argv[2])
    url = os.environ.get("APPLIANCE_SNAPSHOT_DATABASE_URL", "")
    if action == "take":
        take(folder, url)
    elif action == "restore":
        restore(folder, url)
    elif action == "retire":
        retire(folder)
    else:
        sys.exit(f"unknown action {action}")


main()
