"""The project's error tree.

Every error a user or a client can see carries a stable ``error_id`` (never reworded once
published), an HTTP status for the API boundary, and a sentence a person can act on::

    CallCenterError                      error_id, status, message, details
    ├── ConfigError                      config.*           (bad key / bad value at start-up)
    ├── EtcdUnavailable                  etcd.unavailable   (endpoints tried, retrying)
    ├── NotLeader                        cluster.not_leader (a fenced write lost leadership)
    ├── TokenError                       token.*            (expired / forged / wrong kind)
    └── feature errors                   defined in each feature folder's errors.py

Library exceptions (etcd, aiortc, SQLAlchemy) are translated into these at the boundary.
"""

from __future__ import annotations

from typing import Any


class CallCenterError(Exception):
    """Base of every error with a stable id."""

    error_id: str = "internal"
    status: int = 500

    def __init__(
        self,
        message: str,
        *,
        error_id: str | None = None,
        status: int | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        if error_id is not None:
            self.error_id = error_id
        if status is not None:
            self.status = status
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error_id": self.error_id, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body

    def __str__(self) -> str:
        return f"[{self.error_id}] {self.message}"


class ConfigError(CallCenterError):
    error_id = "config.invalid"
    status = 500


class EtcdUnavailable(CallCenterError):
    error_id = "etcd.unavailable"
    status = 503


class NotLeader(CallCenterError):
    error_id = "cluster.not_leader"
    status = 409


class TokenError(CallCenterError):
    error_id = "token.invalid"
    status = 401


class BadRequest(CallCenterError):
    error_id = "request.invalid"
    status = 400
