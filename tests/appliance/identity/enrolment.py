"""Two-factor enrolment for the identity tests: a person with TOTP on and their recovery codes."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import TypeVar

import pyotp

from appliance.identity import accounts
from appliance.identity.mfa import begin_enrolment, confirm_enrolment
from appliance.models import User
from appliance.runtime import Appliance

T = TypeVar("T")


def enrol(appliance: Appliance, user_id: int) -> tuple[str, list[str]]:
    """Turn two-factor on for the user; their TOTP secret and recovery codes."""
    with appliance.unit_of_work() as db:
        enrolment = begin_enrolment(db, appliance.keys, accounts.get_user(db, user_id))
    # The code that confirms enrolment is spent; later sign-ins use the next time step.
    with appliance.unit_of_work() as db:
        codes = confirm_enrolment(
            db, appliance.keys, accounts.get_user(db, user_id), totp_code(enrolment.secret, -1)
        )
    assert codes is not None
    return enrolment.secret, codes


# A code of the previous step (what enrol() confirms with) works only until the current step
# ends: one made in a step's last seconds may be checked after it, so wait for the next step.
STEP_MARGIN_SECONDS = 3.0


def totp_code(secret: str, steps: int = 0) -> str:
    """The authenticator's code `steps` 30-second steps from now; never from the last
    STEP_MARGIN_SECONDS of a step (it waits for the next), so the code is checked in the same
    step it was made in."""
    left = 30 - time.time() % 30
    if left < STEP_MARGIN_SECONDS:
        time.sleep(left + 0.05)
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


def wrong_code(secret: str) -> str:
    """A six-digit code that is none of the codes the window accepts now, nor a moment later
    (the steps either side of the window too: the window may move before it is checked)."""
    totp = pyotp.TOTP(secret)
    accepted = {totp.at(time.time() + 30 * steps) for steps in (-2, -1, 0, 1, 2)}
    return next(c for c in ("123456", "234567", "345678", "456789") if c not in accepted)


def user(appliance: Appliance, user_id: int) -> User:
    with appliance.unit_of_work() as db:
        return accounts.get_user(db, user_id)


def all_at_once(count: int, attempt: Callable[[], T]) -> list[T]:
    """Run `attempt` on `count` threads released together, as parallel requests would arrive.

    Each attempt opens its own unit of work after the barrier: on SQLite a thread that took the
    write lock (BEGIN IMMEDIATE) before the barrier would wait there for threads that wait for it.
    """
    barrier = Barrier(count)

    def released() -> T:
        barrier.wait(timeout=30)
        return attempt()

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(released) for _ in range(count)]
        return [f.result(timeout=120) for f in futures]
