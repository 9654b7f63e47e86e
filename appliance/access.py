"""The two ways the service layer says no, and the role check that records each refusal."""

from __future__ import annotations

from appliance.audit.record import Outcome, record_by
from appliance.roles import Actor, Role


class AccessDenied(Exception):
    """The actor's role may not do this at all (HTTP 403)."""


class NotFound(Exception):
    """No such object *for this actor*: someone else's record looks exactly like a missing one
    (HTTP 404), so ids cannot be probed for existence."""


def require_role(actor: Actor, *roles: Role, action: str) -> None:
    if actor.role not in roles:
        record_by(actor, action, Outcome.DENIED)
        raise AccessDenied(f"{actor.role.value} may not {action}")
