"""Work that must wait until a transaction has committed: removing files whose keys it shreds.

A sealed file is removed only once the shredding of its key is durable. Removed earlier, a
transaction that then rolls back would keep a live key and lose the file it opens (a dictation's
audio still to be transcribed, an export still to be downloaded).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import event
from sqlmodel import Session


def after_commit(db: Session, actions: Sequence[Callable[[], None]]) -> None:
    """Run `actions` once `db`'s transaction commits; never if it rolls back. A crash in
    between leaves files nothing can decrypt (their keys are gone), never a missing one."""
    if not actions:
        return
    pending = tuple(actions)

    def run(_session: Session) -> None:
        for action in pending:
            action()

    event.listen(db, "after_commit", run, once=True)
