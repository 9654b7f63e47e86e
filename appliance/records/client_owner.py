"""The one rule for acts on a client as a whole (exporting, deleting): its own clinician only.

Others who may read the client (their supervisor, an emergency grantee) know it exists and get
AccessDenied; everyone else gets NotFound, exactly as for a client that does not exist. Every
refusal is audited under the act's own action, on top of get_client's `client.view` line.
"""

from __future__ import annotations

from sqlmodel import Session

from appliance.access import AccessDenied, NotFound
from appliance.audit.record import Outcome, record_by
from appliance.crypto.keyfiles import Keys
from appliance.records.clients import ClientView, get_client
from appliance.roles import PHI_ROLES, Actor


def owned_client(db: Session, keys: Keys, actor: Actor, client_id: str, action: str) -> ClientView:
    if actor.role not in PHI_ROLES:
        record_by(actor, action, Outcome.DENIED, object_type="client")
        raise AccessDenied(f"{actor.role.value} may not {action}")
    try:
        client = get_client(db, keys, actor, client_id)
    except NotFound:
        # No object id: the id came from a URL and names nothing this actor may know of.
        record_by(actor, action, Outcome.DENIED, object_type="client")
        raise
    if client.read_only:
        record_by(actor, action, Outcome.DENIED, object_type="client", object_id=client_id)
        raise AccessDenied(f"only the client's clinician may {action}")
    return client
