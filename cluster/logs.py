"""Structured logging: one JSON object per line with role, site and call id where known.

Context travels in ``contextvars`` so a call id set by the driver of a call appears on every
line logged while that call is handled, without threading it through every function.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_role: contextvars.ContextVar[str | None] = contextvars.ContextVar("role", default=None)
_site: contextvars.ContextVar[str | None] = contextvars.ContextVar("site", default=None)
_call: contextvars.ContextVar[str | None] = contextvars.ContextVar("call_id", default=None)

# Keys whose values must never reach a log line (PIN, password, full account numbers).
SENSITIVE_KEYS = frozenset({"pin", "password", "passcode", "account_number", "card_number", "secret"})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, var in (("role", _role), ("site", _site), ("call_id", _call)):
            value = var.get()
            if value is not None:
                line[key] = value
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            for key, value in extra.items():
                line[key] = "***" if key.lower() in SENSITIVE_KEYS else value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def setup_logging(role: str, site: str | None = None, level: str = "INFO") -> None:
    """Configure the root logger for a process: JSON lines on stderr."""
    _role.set(role)
    if site is not None:
        _site.set(site)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.Formatter.converter = time.gmtime


def log(logger: logging.Logger, level: int, msg: str, **fields: Any) -> None:
    """Log ``msg`` with structured ``fields`` (sensitive keys are masked); ``exc_info`` is
    passed to the logger, so the traceback is written."""
    exc_info = fields.pop("exc_info", None)
    logger.log(level, msg, extra={"fields": fields}, exc_info=exc_info)


@contextmanager
def call_context(call_id: str) -> Iterator[None]:
    token = _call.set(call_id)
    try:
        yield
    finally:
        _call.reset(token)
