"""The core object every front end shares, and the actor who asks for an action.

`newsletter.app` builds one `Core` from a workspace (store, transports, link signer, clock, fault
hook); the command line, the web app and the scheduler pass it to the service functions with
the `Actor` on whose behalf they act.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from newsletter.config import Workspace
from newsletter.delivery.result import Transport
from newsletter.delivery.worker.batch import Links
from newsletter.delivery.worker.faults import Checkpoints
from newsletter.delivery.worker.runner import Worker, WorkerOptions
from newsletter.errors import Forbidden
from newsletter.store import Store


class Role(StrEnum):
    """What a person may do; each role may do everything the one before it may."""

    AUTHOR = "author"  # compose, preview, test-send, submit for approval
    EDITOR = "editor"  # also approve, schedule, send, pause and cancel, manage the audience
    ADMIN = "admin"  # also users and settings


class Permission(StrEnum):
    COMPOSE = "compose"
    TEST_SEND = "test-send"
    READ = "read"
    APPROVE = "approve"
    SEND = "send"
    SCHEDULE = "schedule"
    STEER = "steer"  # pause, resume, cancel, retry a send
    AUDIENCE = "audience"
    AUDIT = "audit"
    USERS = "users"


_AUTHOR = {Permission.COMPOSE, Permission.TEST_SEND, Permission.READ}
_EDITOR = _AUTHOR | {
    Permission.APPROVE, Permission.SEND, Permission.SCHEDULE, Permission.STEER,
    Permission.AUDIENCE,
}  # fmt: skip
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.AUTHOR: frozenset(_AUTHOR),
    Role.EDITOR: frozenset(_EDITOR),
    Role.ADMIN: frozenset(_EDITOR | {Permission.USERS, Permission.AUDIT}),
}

_DOING = {
    Permission.COMPOSE: "write or import issues",
    Permission.TEST_SEND: "send test copies",
    Permission.READ: "read issues, sends and reports",
    Permission.APPROVE: "approve issues",
    Permission.SEND: "send issues",
    Permission.SCHEDULE: "schedule sends",
    Permission.STEER: "pause, resume or cancel sends",
    Permission.AUDIENCE: "change the audience",
    Permission.AUDIT: "read the audit log",
    Permission.USERS: "manage users and settings",
}


@dataclass(frozen=True)
class Actor:
    """Who asks: a studio user, the terminal's user, or the scheduler acting for a person.

    ``name`` is what the audit log shows. The terminal's user is the workspace's operator: an
    admin who is not held to the "someone else approves a communiqué" rule, since the terminal
    has one person behind it.
    """

    name: str
    role: Role
    terminal: bool = False

    def may(self, permission: Permission) -> bool:
        return permission in PERMISSIONS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.may(permission):
            raise Forbidden(
                f"{self.name} ({self.role.value}) may not {_DOING[permission]}: "
                "ask an editor or an administrator"
            )


def terminal_actor() -> Actor:
    """The person at the terminal, named by their login."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        login = "unknown"
    return Actor(name=f"terminal:{login}", role=Role.ADMIN, terminal=True)


#: The scheduler acting on a schedule a person made (the schedule's audit entry names them).
SCHEDULER = Actor(name="scheduler", role=Role.EDITOR)

TransportFactory = Callable[[str], Transport]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Core:
    """Everything a service needs, built once per process by `newsletter.app`."""

    workspace: Workspace
    store: Store
    transports: TransportFactory
    links: Links
    worker_options: WorkerOptions
    checkpoints: Checkpoints = field(default_factory=Checkpoints)
    clock: Callable[[], datetime] = _utcnow

    def now(self) -> datetime:
        return self.clock()

    def transport(self, name: str | None = None) -> Transport:
        """A new transport (the caller closes it): ``name``, else the configured one."""
        return self.transports(name or self.workspace.settings.transport)

    def worker(self) -> Worker:
        return Worker(self.store, self.transports, self.links, self.worker_options,
                      checkpoints=self.checkpoints)  # fmt: skip

    def close(self) -> None:
        self.store.close()
