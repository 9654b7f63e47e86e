"""Throttling of the credential forms (sign-in, second factor, setup links), per address first.

Two limits, kept in memory by `limits` (a maintained rate-limiting library) in this process:
- every address may post to these forms at most 30 times a minute and 300 times an hour, so a
  script cannot hammer argon2 (each sign-in costs ~25 ms of CPU) or guess setup tokens;
- every (address, account) pair may fail at most lockout_threshold - 1 times within the lockout
  window. The account lockout (appliance.identity.authentication) therefore needs failures from
  at least two addresses: an outsider at one address can no longer keep an admin locked out
  forever by failing five times every quarter of an hour, while a distributed guess still locks
  the account.

In memory, per process: a restart forgets the counts. With several web processes
(`appliance serve --workers N`) each process counts only the posts it answers, so each allows
its share of every limit, the limit divided by N (rounded down): the limits above stay ceilings
on the whole box, however the posts are spread. Multiplying them by N instead would let one
address fail N * (lockout_threshold - 1) times, enough to lock the account, which is what the
second limit exists to prevent. The price falls on a person whose posts all reach one process:
they are stopped after their share (two failures instead of four, with 2 processes). `appliance
serve` refuses more processes than lockout_threshold - 1, where a share would round down to
nothing. The account lockout, in the database, holds across restarts and processes alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from limits import RateLimitItemPerHour, RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from appliance import metrics
from appliance.audit.record import Outcome, record_event

POSTS_PER_ADDRESS_PER_MINUTE = 30
POSTS_PER_ADDRESS_PER_HOUR = 300


@dataclass
class Throttle:
    lockout_threshold: int
    lockout_minutes: int
    processes: int = 1  # web processes sharing the box: this one counts 1/processes of each limit
    _limiter: MovingWindowRateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        processes = self.processes
        self._per_address = (
            RateLimitItemPerMinute(max(1, POSTS_PER_ADDRESS_PER_MINUTE // processes)),
            RateLimitItemPerHour(max(1, POSTS_PER_ADDRESS_PER_HOUR // processes)),
        )
        # One short of the lockout over all processes: one address alone never reaches it.
        self._failures = RateLimitItemPerMinute(
            max(1, (self.lockout_threshold - 1) // processes), self.lockout_minutes
        )
        # At most one audit line per throttled key and window: a flood must not turn into a
        # flood of audit writes.
        self._noted = RateLimitItemPerMinute(1, self.lockout_minutes)

    def _refuse(self, scope: str, *key: str) -> bool:
        metrics.SIGN_IN_THROTTLED.labels(scope).inc()
        if self._limiter.hit(self._noted, "noted", scope, *key):
            record_event("auth.throttled", Outcome.DENIED, reason=scope)
        return False

    def attempt(self, address: str) -> bool:
        """Count one post from `address`; False when it is over the per-address limit."""
        allowed = all([self._limiter.hit(item, "address", address) for item in self._per_address])
        return allowed or self._refuse("address", address)

    def may_try(self, address: str, account: str) -> bool:
        """False when this address has failed for this account as often as it may."""
        return self._limiter.test(self._failures, "failed", address, account) or self._refuse(
            "account_address", address, account
        )

    def failed(self, address: str, account: str) -> None:
        self._limiter.hit(self._failures, "failed", address, account)

    @property
    def wait_minutes(self) -> int:
        return self.lockout_minutes


def address_of(request: Request) -> str:
    # With proxy headers trusted (settings.trusted_proxies), the client's, not nginx's.
    return request.client.host if request.client else "unknown"


def throttle_of(request: Request) -> Throttle:
    throttle: Throttle = request.app.state.throttle
    return throttle
