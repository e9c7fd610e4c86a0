"""Ending owned tasks: cancel them all, then await each one's exit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any] | None]) -> None:
    """Cancel every task, then await them; a task's own cancellation is not an error."""
    owned = [task for task in tasks if task is not None]
    for task in owned:
        task.cancel()
    for task in owned:
        with contextlib.suppress(asyncio.CancelledError):
            await task
