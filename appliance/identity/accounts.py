"""People and their roles: create, find, disable, set passwords, assign supervisors."""

from __future__ import annotations

import re

from sqlmodel import Session, col, func, select

from appliance import clock
from appliance.access import NotFound, require_role
from appliance.audit.record import Outcome, record_by
from appliance.identity.passwords import check_policy, hash_password, verify_password
from appliance.models import Supervision, User, UserSession
from appliance.roles import Actor, Role

USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")


class AccountError(Exception):
    """A request about an account that cannot be carried out; the message is for the person."""


class PasswordRejected(AccountError):
    def __init__(self, problems: tuple[str, ...]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


def normalise_username(raw: str) -> str:
    return raw.strip().lower()


def validate_username(raw: str) -> str:
    username = normalise_username(raw)
    if not USERNAME_PATTERN.fullmatch(username):
        raise AccountError(
            "Usernames are 2-64 characters: a letter first, then letters, digits, '.', '_' or '-'."
        )
    return username


def parse_role(raw: str) -> Role:
    try:
        return Role(raw.strip().lower())
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise AccountError(f"Unknown role {raw!r}; choose one of {choices}.") from None


def find_user(db: Session, username: str) -> User | None:
    return db.exec(select(User).where(User.username == normalise_username(username))).first()


def get_user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise AccountError("No such user.")
    return user


def user_by_id(db: Session, user_id: int) -> User:
    """For pages that name an account in their address: NotFound (a 404) when there is none."""
    user = db.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id}")
    return user


def list_users(db: Session) -> list[User]:
    return list(db.exec(select(User).order_by(col(User.username))))


def active_usernames(db: Session, role: Role) -> list[str]:
    """Who can be chosen for a role's duties now (a supervisor, an emergency grantee)."""
    return list(
        db.exec(
            select(User.username)
            .where(User.role == role.value, col(User.is_active))
            .order_by(col(User.username))
        )
    )


def active_users_by_role(db: Session) -> dict[str, int]:
    """How many active accounts each role has, every role listed (0 when none)."""
    counts = {role.value: 0 for role in Role}
    rows = db.exec(
        select(User.role, func.count()).where(col(User.is_active)).group_by(col(User.role))
    ).all()
    counts.update({role: count for role, count in rows})
    return counts


def is_locked(user: User) -> bool:
    """Locked out by too many failed sign-ins, until the lockout runs out or an admin unlocks."""
    return user.locked_until is not None and user.locked_until > clock.utcnow()


def count_active_admins(db: Session) -> int:
    return len(
        db.exec(select(User.id).where(User.role == Role.ADMIN.value, col(User.is_active))).all()
    )


def require_admin(by: Actor | None, action: str) -> None:
    """Account management is the admin's; `by=None` is the operator at the shell (CLI, Ansible)."""
    if by is not None:
        require_role(by, Role.ADMIN, action=action)


def _audit(action: str, by: Actor | None, user: User) -> None:
    record_by(by, action, object_type="user", object_id=user.id)


def create_user(
    db: Session, username: str, role: Role, *, password: str | None = None, by: Actor | None
) -> User:
    """Create an account. Without a password the person sets one through a setup link."""
    require_admin(by, "user.create")
    username = validate_username(username)
    if find_user(db, username) is not None:
        raise AccountError(f"The username {username!r} is taken.")
    user = User(username=username, role=role.value, created_at=clock.utcnow())
    if password is not None:
        _apply_password(user, password)
    db.add(user)
    db.flush()
    _audit("user.create", by, user)
    return user


def _apply_password(user: User, password: str) -> None:
    verdict = check_policy(password, username=user.username)
    if not verdict.ok:
        raise PasswordRejected(verdict.problems)
    user.password_hash = hash_password(password)
    user.password_changed_at = clock.utcnow()
    user.failed_logins = 0
    user.locked_until = None


def set_password(db: Session, user: User, password: str, *, by: Actor | None) -> None:
    """Set a new password and end every session of that person (they sign in again)."""
    if by is not None and by.user_id != user.id:
        require_admin(by, "user.password_change")
    _apply_password(user, password)
    db.add(user)
    end_all_sessions(db, user.id, reason="password_changed")
    _audit("user.password_change", by, user)


def change_own_password(db: Session, actor: Actor, current: str, new: str) -> bool:
    """A person changing their own password proves the current one first: a session left open
    on a shared workstation must not be enough to take the account over. False (audited) when
    the current password is wrong; PasswordRejected when the new one breaks the policy."""
    user = get_user(db, actor.user_id)
    if user.password_hash is None or not verify_password(current, user.password_hash):
        record_by(
            actor,
            "user.password_change",
            Outcome.FAILED,
            object_type="user",
            object_id=user.id,
            reason="bad_current_password",
        )
        return False
    set_password(db, user, new, by=actor)
    return True


def end_all_sessions(db: Session, user_id: int | None, *, reason: str) -> int:
    now = clock.utcnow()
    live = db.exec(
        select(UserSession).where(
            UserSession.user_id == user_id, col(UserSession.ended_at).is_(None)
        )
    ).all()
    for user_session in live:
        user_session.ended_at = now
        user_session.end_reason = reason
        db.add(user_session)
    return len(live)


def disable_user(db: Session, user: User, *, by: Actor | None) -> None:
    require_admin(by, "user.disable")
    if user.role == Role.ADMIN.value and user.is_active and count_active_admins(db) <= 1:
        raise AccountError("This is the last active admin; add another admin first.")
    user.is_active = False
    db.add(user)
    end_all_sessions(db, user.id, reason="account_disabled")
    _audit("user.disable", by, user)


def enable_user(db: Session, user: User, *, by: Actor | None) -> None:
    require_admin(by, "user.enable")
    user.is_active = True
    user.failed_logins = 0
    user.locked_until = None
    db.add(user)
    _audit("user.enable", by, user)


def end_sessions_of(db: Session, user: User, *, by: Actor) -> int:
    require_admin(by, "user.sessions_end")
    ended = end_all_sessions(db, user.id, reason="ended_by_admin")
    _audit("user.sessions_end", by, user)
    return ended


def unlock_user(db: Session, user: User, *, by: Actor) -> None:
    require_admin(by, "user.unlock")
    user.failed_logins = 0
    user.locked_until = None
    db.add(user)
    _audit("user.unlock", by, user)


def supervisor_of(db: Session, clinician_id: int) -> User | None:
    return db.exec(
        select(User)
        .join(Supervision, col(Supervision.supervisor_id) == col(User.id))
        .where(Supervision.clinician_id == clinician_id)
    ).first()


def supervisors_by_clinician(db: Session) -> dict[int, str]:
    """Clinician id -> their supervisor's username, for every clinician who has one."""
    rows = db.exec(
        select(Supervision.clinician_id, User.username).join(
            User, col(User.id) == col(Supervision.supervisor_id)
        )
    ).all()
    return {clinician_id: username for clinician_id, username in rows}


def supervisee_ids(db: Session, supervisor_id: int) -> list[int]:
    return list(
        db.exec(
            select(Supervision.clinician_id).where(Supervision.supervisor_id == supervisor_id)
        ).all()
    )


def check_supervisor_change(clinician: User, supervisor: User | None) -> None:
    """AccountError unless `supervisor` (None: nobody) may become the clinician's supervisor."""
    if clinician.role != Role.CLINICIAN.value:
        raise AccountError("Only clinicians have supervisors.")
    if supervisor is not None and supervisor.role != Role.SUPERVISOR.value:
        raise AccountError(f"{supervisor.username} is not a supervisor.")
    if supervisor is None and clinician.requires_cosign:
        raise AccountError(
            f"{clinician.username}'s notes require co-signature: turn that off first, or "
            "assign another supervisor."
        )


def assign_supervisor(
    db: Session, clinician: User, supervisor: User | None, *, by: Actor | None
) -> None:
    """Give a clinician one supervisor (or none); replaces any earlier assignment."""
    require_admin(by, "user.supervisor_assign")
    check_supervisor_change(clinician, supervisor)
    for existing in db.exec(select(Supervision).where(Supervision.clinician_id == clinician.id)):
        db.delete(existing)
    db.flush()
    if supervisor is not None:
        assert clinician.id is not None and supervisor.id is not None
        db.add(Supervision(supervisor_id=supervisor.id, clinician_id=clinician.id))
    _audit("user.supervisor_assign", by, clinician)


def set_requires_cosign(db: Session, clinician: User, required: bool, *, by: Actor) -> None:
    """The clinician's signed notes become final only when their supervisor co-signs."""
    require_admin(by, "user.requires_cosign")
    if required:
        if clinician.role != Role.CLINICIAN.value:
            raise AccountError("Only a clinician's notes need co-signature.")
        assert clinician.id is not None
        if supervisor_of(db, clinician.id) is None:
            raise AccountError(
                f"Assign {clinician.username} a supervisor first: the supervisor co-signs."
            )
    clinician.requires_cosign = required
    db.add(clinician)
    _audit("user.requires_cosign", by, clinician)


MAX_SIGNATURE_LINE = 120


def set_signature_line(db: Session, actor: Actor, line: str) -> None:
    """How the person signs ("Alice Smith, LMFT"); only they set it, and it is audited."""
    cleaned = " ".join(line.split())
    if not cleaned:
        raise AccountError("Signature line: enter your name and credentials.")
    if len(cleaned) > MAX_SIGNATURE_LINE:
        raise AccountError(f"Signature line: at most {MAX_SIGNATURE_LINE} characters.")
    user = user_by_id(db, actor.user_id)
    user.signature_line = cleaned
    db.add(user)
    _audit("user.signature_line", actor, user)


def actor_for(user: User) -> Actor:
    assert user.id is not None
    return Actor(user_id=user.id, username=user.username, role=Role(user.role))
