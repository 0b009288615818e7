"""Group commit: the concurrent writers of one process share one transaction and its one commit.

Both backends' ``Database`` classes keep a :class:`GroupCommit`: the lock in
front of their write transactions (:class:`GroupCommitLock`, which counts the
threads queued for it), the group transaction that is open, and the callbacks
that wait for its commit. What differs between the backends, the statements
that begin, commit and roll back a transaction and the error a failed commit
gives, is theirs (:class:`GroupStatements`).

A writer whose transaction ends while other threads are queued for the lock
does not commit: it leaves its changes in the open group and the next holder
joins. A block that raises undoes its own changes alone: each writer's block
runs in a savepoint, except the group's first writer, which runs without one
(a savepoint costs PostgreSQL a round trip, SQLite a copy of each page the
block changes): :meth:`GroupCommit.abandon` rolls the group back whole. The
holder that finds nobody queued, or the group older than ``max_age_s``
(counted from its ``BEGIN``'s return: time spent waiting for another
process's lock does not age it), or the group spoiled
(:meth:`GroupCommit.end_now`), commits the group: one commit, one flush to
disk, for all of them. Every thread that held the lock while a group was open
waits until that group is committed before it goes on, and fails with the
backend's error if the commit fails; so nothing anyone was told is stored can
be lost. The callbacks given to :meth:`GroupCommit.after_commit` run once the
group commits, by the thread that commits it, in the order they were given
(the order the writers' changes commit in), before the lock passes on. A lone
writer commits at once, as without groups.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, Self

__all__ = ["Group", "GroupCommit", "GroupCommitLock", "GroupStatements"]


@dataclass
class Group:
    """One group commit: the transaction that several threads' changes share, until it commits."""

    started_s: float
    holders: int = 0
    ending: bool = False
    done: bool = False
    error: BaseException | None = None


class GroupStatements(Protocol):
    """What a backend does to begin, commit and roll back a group's transaction, and what its writers
    get when the commit fails."""

    def begin(self) -> None:
        """Begin the group's transaction (on raising, none is left open)."""
        ...

    def commit(self) -> None:
        """Commit the group's transaction (on raising, :meth:`rollback` follows)."""
        ...

    def rollback(self) -> None:
        """Roll the group's transaction back, if the connection still has one open."""
        ...

    def failure(self, error: BaseException) -> Exception:
        """The error every writer of a group whose commit raised ``error`` gets."""
        ...


class GroupCommitLock:
    """The lock in front of a :class:`GroupCommit`, whose last release ends the holder's part in the group.

    Reentrant. It counts the threads queued for it, so the holder leaving can
    tell whether someone will come after it to commit the group.
    """

    def __init__(self, groups: GroupCommit) -> None:
        self._groups = groups
        self._lock = threading.RLock()
        self._holds = 0  # the holder's nesting: touched only by the thread holding _lock
        self._queued = 0
        self._queued_lock = threading.Lock()

    def __enter__(self) -> Self:
        with self._queued_lock:
            self._queued += 1
        self._lock.acquire()
        with self._queued_lock:
            self._queued -= 1
        self._holds += 1
        return self

    def __exit__(self, *exc: object) -> None:
        group = None
        try:
            if self._holds == 1:
                with self._queued_lock:
                    queued = self._queued
                group = self._groups.leave(queued)
        finally:
            self._holds -= 1
            self._lock.release()
        if group is not None:
            self._groups.wait_for(group)


class GroupCommit:
    """The open group transaction of one database, the lock in front of it and its after-commit callbacks.

    Parameters
    ----------
    statements
        The backend's begin and commit, and its error for a failed commit.
    max_age_s
        How long at most a group stays open for more writers to join.

    Notes
    -----
    Every method but :meth:`wait_for` is called by the thread holding :attr:`lock`.
    """

    def __init__(self, statements: GroupStatements, max_age_s: float) -> None:
        self.statements = statements
        self.max_age_s = max_age_s
        self.lock = GroupCommitLock(self)
        self._group: Group | None = None
        self._after_commit: list[Callable[[], None]] = []
        self._committed = threading.Condition()

    @property
    def is_open(self) -> bool:
        """Whether a group transaction is open."""
        return self._group is not None

    def join(self) -> None:
        """Begin a group transaction unless one is open (the caller then adds its changes to it)."""
        if self._group is None:
            self.statements.begin()
            self._group = Group(time.monotonic())

    def abandon(self) -> None:
        """Roll back the open group, which holds the changes of its holder alone (it began it, and
        nobody left changes in it): the first writer of a group takes no savepoint."""
        group = self._group
        if group is None:
            return
        assert group.holders == 0, "the group holds other writers' changes"
        self._group = None
        self._after_commit.clear()
        self.statements.rollback()

    def end_now(self) -> None:
        """Commit the open group when its holder leaves, whoever is queued (it can take nobody more)."""
        if self._group is not None:
            self._group.ending = True

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the open group commits (at once when none is open)."""
        if self._group is None:
            callback()
        else:
            self._after_commit.append(callback)

    def awaits_commit(self, callback: Callable[[], None]) -> bool:
        """Whether ``callback`` (given to :meth:`after_commit`) still waits for the group's commit."""
        return any(c is callback for c in self._after_commit)

    @property
    def callbacks(self) -> int:
        """How many callbacks wait for the commit (a savepoint's mark for :meth:`drop_callbacks`)."""
        return len(self._after_commit)

    def drop_callbacks(self, kept: int) -> None:
        """Forget every callback but the first ``kept``: what was done before them was rolled back."""
        del self._after_commit[kept:]

    def leave(self, queued: int) -> Group | None:
        """At the lock's last release: commit the open group, or leave it to the next holder.

        Returns the group to wait for, or ``None`` (no group, or committed here).
        """
        group = self._group
        if group is None:
            return None
        group.holders += 1
        if queued == 0 or group.ending or time.monotonic() - group.started_s >= self.max_age_s:
            self.commit()
            return None
        return group

    def commit(self) -> None:
        """Commit the open group, if any; run its callbacks; wake those waiting for it.

        Raises
        ------
        Exception
            The backend's :meth:`GroupStatements.failure` when the commit fails
            (then nothing of the group was stored and no callback runs); else
            the first error a callback raised, once every callback has run.
        """
        group = self._group
        if group is None:
            return
        self._group = None
        callbacks, self._after_commit = self._after_commit, []
        raised: BaseException | None = None
        try:
            self.statements.commit()
        except BaseException as exc:
            group.error = exc
            self.statements.rollback()
            raise self.statements.failure(exc) from exc
        else:
            for callback in callbacks:  # each writer's, whatever another's raised
                try:
                    callback()
                except BaseException as exc:
                    raised = raised or exc
        finally:
            with self._committed:
                group.done = True
                self._committed.notify_all()
        if raised is not None:
            raise raised

    def wait_for(self, group: Group) -> None:
        """Block until ``group`` is committed; raise the backend's failure if its commit failed."""
        with self._committed:
            self._committed.wait_for(lambda: group.done)
        if group.error is not None:
            raise self.statements.failure(group.error) from group.error
