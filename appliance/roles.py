"""The four roles, and who is acting: every service function takes an `Actor`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """The four roles; each person has exactly one (minimum necessary access)."""

    CLINICIAN = "clinician"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    AUDITOR = "auditor"

    @property
    def label(self) -> str:
        return self.value.capitalize()


# Roles whose work involves protected health information at all.
PHI_ROLES = frozenset({Role.CLINICIAN, Role.SUPERVISOR})


@dataclass(frozen=True)
class Actor:
    """A signed-in person as the service layer sees them (built by identity.accounts.actor_for)."""

    user_id: int
    username: str
    role: Role
