from __future__ import annotations

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
