"""What every business API does first: check the caller's token for an action, find its service.

A feature's API owns one :class:`ServiceGate`. The gate holds the feature's service once the
business database is open (``None`` before and after), so a request that arrives while a replica
is starting gets ``503`` with the feature's own ``*.unavailable`` id rather than a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar

from aiohttp import web

from cluster.errors import BadRequest, CallCenterError
from cluster.tokens import Claims, TokenSigner, bearer_claims

S = TypeVar("S")


class ServiceGate(Generic[S]):
    """Token check by action (``why`` says who may do each), then the started service."""

    def __init__(self, signer: TokenSigner, why: Mapping[str, str], *, unavailable_id: str) -> None:
        self.signer = signer
        self.why = why
        self.unavailable_id = unavailable_id
        self.service: S | None = None

    def enter(self, request: web.Request, action: str) -> tuple[Claims, S]:
        claims = bearer_claims(self.signer, request.headers.get("Authorization", ""), action=action,
                               why=self.why[action])  # fmt: skip
        if self.service is None:
            raise BadRequest("the business database is not open yet", error_id=self.unavailable_id, status=503)
        return claims, self.service


def path_id(request: web.Request, error: type[CallCenterError], name: str = "id") -> int:
    """A numeric path segment, or ``error`` naming the segment (nothing is looked up)."""
    raw = request.match_info[name]
    if not raw.isdigit() or len(raw) > 18:
        raise error(f"{name}: a number", field=name)
    return int(raw)
