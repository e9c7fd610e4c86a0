"""Pushing events to clients without blocking the caller (failures are logged, never raised)."""

from __future__ import annotations

from typing import Any, Protocol

from cluster.tasks import TaskOwner
from site_node.signalling.control import Session


class Notify(Protocol):
    def send(self, session: Session | None, event: str, data: dict[str, Any] | None = None) -> None: ...


class Notifier:
    def __init__(self, owner: TaskOwner) -> None:
        self._owner = owner

    def send(self, session: Session | None, event: str, data: dict[str, Any] | None = None) -> None:
        if session is not None and not session.closed and not self._owner.closed:
            self._owner.spawn(session.send_event(event, data or {}), f"send-{event}")
