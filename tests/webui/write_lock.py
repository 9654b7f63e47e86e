"""Proof that slow work stays out of SQLite's write lock: while a request is held inside its
slow step, another unit of work must still write."""

from __future__ import annotations

import threading
from collections.abc import Callable

from appliance.identity.accounts import actor_for
from appliance.records.clients import create_client
from appliance.runtime import Appliance
from tests.conftest import People


class SlowStep:
    """Wraps the slow function a request calls: it says when it has started, then waits to be
    released (as long as decoding an hour of audio or an argon2 under load might take)."""

    def __init__(self, real: Callable[..., object]) -> None:
        self.real = real
        self.started, self.release = threading.Event(), threading.Event()

    def __call__(self, *args: object, **kwargs: object) -> object:
        self.started.set()
        self.release.wait(timeout=30)
        return self.real(*args, **kwargs)


def assert_writers_carry_on(
    appliance: Appliance, people: People, slow: SlowStep, request: Callable[[], object], what: str
) -> None:
    """Send `request` on a thread; once it is inside `slow`, a writer (bob adds a client) must
    finish within 20 s. Before the fix it waited on the request's write lock until released."""
    sending = threading.Thread(target=request)
    sending.start()
    writer: threading.Thread | None = None
    try:
        assert slow.started.wait(timeout=10)
        wrote = threading.Event()

        def other_writer() -> None:
            with appliance.unit_of_work() as db:
                create_client(db, appliance.keys, actor_for(people.bob), display_name="B B")
            wrote.set()

        writer = threading.Thread(target=other_writer)
        writer.start()
        # 20 s for busy cores; a writer held by the lock still fails (busy_timeout 10 s, step 30 s)
        assert wrote.wait(timeout=20), f"a writer waited for {what}"
    finally:
        slow.release.set()
        sending.join(timeout=30)
        if writer is not None:
            writer.join(timeout=10)
