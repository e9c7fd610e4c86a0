"""The site's side of self-service: an IVR ``fetch`` resolved through central's resource API
(``POST /v1/resources/resolve``, as the site's own identity, naming the flow).

Whatever goes wrong (no central replica, a deadline, a field's error) becomes a
:class:`FetchResult` with ``error`` set; a back office that refused the request (``4xx``, e.g.
``backoffice.limit_exceeded``) sets ``refusal`` to the reason (``limit_exceeded``). Nothing here
raises into the call, and the values are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from typing import Any, Protocol

from cluster.errors import CallCenterError
from site_node.ivr import FetchRequest, FetchResult

_log = logging.getLogger(__name__)
_REFUSED = re.compile(r"refused \(\d+ (?:[a-z]+\.)?([a-z_]+)\)")


class Poster(Protocol):
    async def post(self, path: str, body: Mapping[str, Any]) -> Any: ...


def result_of(answer: Any, fields: tuple[str, ...]) -> FetchResult:
    """Central's answer -> the event the interpreter takes."""
    if not isinstance(answer, dict) or not isinstance(answer.get("values"), dict):
        return FetchResult(error="resources.malformed")
    errors = answer.get("errors") or {}
    values = {k: v for k, v in answer["values"].items() if k in fields}
    for name in fields:
        problem = errors.get(name) if isinstance(errors, dict) else None
        if isinstance(problem, dict):
            found = _REFUSED.search(str(problem.get("message", "")))
            if problem.get("error_id") == "resources.backend_refused" and found:
                return FetchResult(values, refusal=found.group(1))
            return FetchResult(values, error=str(problem.get("error_id") or "resources.error"))
    return FetchResult(values)


class CentralResources:
    """``fetch`` for the IVR host (one per site; the poster is the site's central client)."""

    def __init__(self, central: Poster, *, deadline_s: float = 3.0) -> None:
        self._central = central
        self._deadline_s = deadline_s

    async def fetch(self, request: FetchRequest) -> FetchResult:
        body = {"fields": list(request.fields), "inputs": dict(request.inputs), "flow": request.flow_id,
                "deadline_ms": int(self._deadline_s * 1000)}  # fmt: skip
        try:
            async with asyncio.timeout(self._deadline_s + 2.0):
                answer = await self._central.post("/v1/resources/resolve", body)
        except TimeoutError:
            return FetchResult(error="resources.timeout")
        except CallCenterError as exc:
            _log.warning("self-service %s at node %s: %s", request.flow_id, request.node_id, exc.error_id)
            return FetchResult(error=exc.error_id)
        result = result_of(answer, request.fields)
        if result.error or result.refusal:
            _log.info("self-service %s at node %s: %s", request.flow_id, request.node_id,
                      result.error or result.refusal)  # fmt: skip
        return result
