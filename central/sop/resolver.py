"""Service tasks resolve resource fields through :class:`Resolver`; :class:`ResourceResolver`
is the real one, in process over central's resource engine (the planner and executor behind
POST /v1/resources/resolve, with the caller's role), so a refused plan or a failed backend
becomes an error per field, never an exception."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from central.resources.api import ResourcesApi
from central.resources.errors import ResourceError
from central.resources.planner import plan


class Resolver(Protocol):
    async def resolve(self, fields: list[str], inputs: Mapping[str, Any],
                      role: str | None) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
        """(values by field, errors by field: ``{error_id, message}``)."""
        ...


class ResourceResolver:
    def __init__(self, resources: ResourcesApi) -> None:
        self.resources = resources

    async def resolve(self, fields: list[str], inputs: Mapping[str, Any],
                      role: str | None) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
        given = {k: v for k, v in inputs.items() if v is not None}
        try:
            the_plan = plan(self.resources.catalog, fields, set(given), role=role, flow=None)
        except ResourceError as exc:
            return {}, {f: {"error_id": exc.error_id, "message": exc.message} for f in fields}
        result = await self.resources.executor.resolve(the_plan, given, deadline_s=self.resources.config.deadline_s)
        return dict(result.values), dict(result.errors)
