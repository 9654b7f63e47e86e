"""`make fuzz`: hostile posts to every form and upload route, many per route; prints a table.

The drill behind tests/webui/test_hostile_input.py, with the same strategies and the same judge
(tests/webui/hostile_requests.py, tests/webui/hostile_world.py) but many more examples, counted
instead of stopping at the first failure. One appliance serves the whole run: SQLite in a
temporary directory, or the emptied test database of APPLIANCE_TEST_DATABASE_URL when it is
set. Per route: examples sent, their statuses, answers of 500 or more, other wrong answers
(leaked exception or SQL text, a file path, an unescaped tag, a visitor let past the guard) and
requests that left something half made; the distinct problems follow the table, with the
exception each 500 raised. Exits 1 when any route has a problem.

    python -m bench.hostile_input [EXAMPLES_PER_ROUTE [SEED]]   (default 200, a random seed)

Each run draws other examples (`make test` draws the same ones every time); the seed is printed
with the table, and running again with it draws the same examples.
"""

from __future__ import annotations

import logging
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hypothesis_settings

from appliance.crypto.keyfiles import KeyPaths, create_missing_keys
from appliance.db import make_engine
from appliance.identity.passwords import hash_password
from appliance.migrate import upgrade_to_head
from appliance.runtime import open_appliance
from appliance.settings import Settings
from tests.conftest import PASSWORD, POSTGRES_URL, empty_postgres
from tests.webui.hostile_requests import HostileForm, hostile_forms
from tests.webui.hostile_world import World, open_world, post
from tests.webui.test_route_matrix import POSTS

EXAMPLES = 200
SHOWN_PROBLEMS = 20


class Unhandled(logging.Handler):
    """The type of each unhandled exception, by request id, from the app's own log line
    ("unhandled ValueError id=..."): the 500 page shows only the id."""

    def __init__(self) -> None:
        super().__init__()
        self.by_request: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "unhandled %s id=%s" and isinstance(record.args, tuple):
            self.by_request[str(record.args[1])] = str(record.args[0])


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: int = 0
    wrong: int = 0
    half_made: int = 0
    problems: Counter[str] = field(default_factory=Counter)

    @property
    def examples(self) -> int:
        return sum(self.statuses.values())


def _fuzz(world: World, path: str, examples: int, drawn_by: int, unhandled: Unhandled) -> Tally:
    tally = Tally()

    @seed(drawn_by)
    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        database=None,
        # Counted, never raised: nothing to shrink.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(hostile_forms(path, world.samples.values, world.seen))
    def send(form: HostileForm) -> None:
        verdict = post(world, form)
        tally.statuses[verdict.exchange.status] += 1
        tally.server_errors += verdict.exchange.status >= 500
        other = [w for w in verdict.wrong if not w.startswith("status ")]
        tally.wrong += bool(other)
        tally.half_made += bool(verdict.half_made)
        if verdict.wrong or verdict.half_made:
            raised = unhandled.by_request.get(verdict.exchange.request_id, "")
            problems = "; ".join(verdict.wrong + verdict.half_made)
            tally.problems[f"POST {path} as {form.who}: {problems} {raised}".rstrip()] += 1

    send()
    return tally


def _histogram(statuses: Counter[int]) -> str:
    return " ".join(f"{status}:{n}" for status, n in sorted(statuses.items()))


def main(argv: list[str]) -> int:
    examples = int(argv[1]) if len(argv) > 1 else EXAMPLES
    drawn_by = int(argv[2]) if len(argv) > 2 else random.randrange(2**32)
    # The app logs each 500's exception type (kept for the problems listed), nothing else here.
    unhandled = Unhandled()
    app_log = logging.getLogger("webui")
    app_log.addHandler(unhandled)
    app_log.propagate = False
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        data_dir = Path(workdir) / "data"
        data_dir.mkdir()
        # Named outright: a developer's APPLIANCE_DATABASE_URL must never receive this traffic;
        # the throwaway test database may (it is emptied first), as `make test-postgres` does.
        settings = Settings(
            data_dir=data_dir,
            database_url=POSTGRES_URL or f"sqlite:///{data_dir / 'appliance.db'}",
            public_url="https://testserver",
        )
        create_missing_keys(KeyPaths.from_settings(settings))
        if POSTGRES_URL:  # emptied before the fresh keys meet it (its key registry included)
            engine = make_engine(POSTGRES_URL)
            upgrade_to_head(engine)
            empty_postgres(engine)
            engine.dispose()
        appliance = open_appliance(settings)
        try:
            world = open_world(appliance, hash_password(PASSWORD), raise_server_exceptions=False)
            tallies = {path: _fuzz(world, path, examples, drawn_by, unhandled) for _, path in POSTS}
        finally:
            appliance.engine.dispose()
    total = Tally()
    for tally in tallies.values():
        total.statuses.update(tally.statuses)
        total.server_errors += tally.server_errors
        total.wrong += tally.wrong
        total.half_made += tally.half_made
        total.problems.update(tally.problems)
    width = max(len(path) for path in tallies)
    columns = max(len(_histogram(t.statuses)) for t in [*tallies.values(), total])
    database = "PostgreSQL" if POSTGRES_URL else "SQLite"
    print(f"Hostile posts, up to {examples} examples per route ({database}, seed {drawn_by})")
    print()
    print(
        f"| {'POST route':<{width}} | examples | {'statuses':<{columns}} "
        "| >=500 | wrong | half-made |"
    )
    print(f"|{'-' * (width + 2)}|---------:|{'-' * (columns + 2)}|------:|------:|----------:|")
    for path, tally in [*tallies.items(), ("all routes", total)]:
        print(
            f"| {path:<{width}} | {tally.examples:>8} | {_histogram(tally.statuses):<{columns}} "
            f"| {tally.server_errors:>5} | {tally.wrong:>5} | {tally.half_made:>9} |"
        )
    print()
    print(f"{time.perf_counter() - started:.0f} s")
    if total.problems:
        print("Problems (distinct, most frequent first):")
    for problem, n in total.problems.most_common(SHOWN_PROBLEMS):
        print(f"  {n:>4} x {problem}")
    return 1 if total.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
