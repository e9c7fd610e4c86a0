"""The resource engine's HTTP API at central, and its one wiring point (:class:`ResourcesApi`).

POST /v1/resources/resolve  {fields: [...], inputs: {name: value}, flow?: id, deadline_ms?: n}
    -> {values: {field: value}, errors: {field: {error_id, message}}, plan: [[step, ...], ...]}
GET  /v1/resources          catalogs, versions, and per resource: calls, errors, error rate, latency

Both need ``resources.resolve`` (:mod:`cluster.roles`). A request naming a ``flow`` (self-service
on a caller's behalf) is honoured only from a site's own identity (``site:<name>`` tokens signed
with the cluster secret): it is then the flow, not a person's role, that a resource must allow.
A request that cannot be planned (unknown field, missing input, cycle, not allowed) is refused
whole and calls nothing; once planned, every field gets its value or its own error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from central.resources.client import AiohttpClient
from central.resources.config import ResourcesConfig
from central.resources.errors import NotAllowed, ResourceError
from central.resources.executor import Executor, TtlCache
from central.resources.model import DEFINITIONS_DIR, load_catalog
from central.resources.planner import plan
from cluster.clock import SYSTEM_CLOCK, Clock
from cluster.http import read_json
from cluster.tokens import TokenSigner, bearer_claims

_WHY = "only the center's call roles and sites resolve resource fields"
_SCALARS = (str, int, float, bool)


def _bad(message: str, field: str) -> ResourceError:
    return ResourceError(message, error_id="resources.bad_request", field=field)


def parse_request(
    body: dict[str, Any], max_deadline_s: float
) -> tuple[list[str], dict[str, Any], str | None, float | None]:
    unknown = set(body) - {"fields", "inputs", "flow", "deadline_ms"}
    if unknown:
        raise _bad(f"unknown keys: {', '.join(sorted(unknown))}", sorted(unknown)[0])
    fields = body.get("fields")
    if not isinstance(fields, list) or not all(isinstance(f, str) and 0 < len(f) <= 64 for f in fields):
        raise _bad("fields: a list of field names", "fields")
    inputs = body.get("inputs", {})
    if not isinstance(inputs, dict) or len(inputs) > 50:
        raise _bad("inputs: an object of at most 50 names", "inputs")
    for name, value in inputs.items():
        if not isinstance(value, _SCALARS) or (isinstance(value, str) and len(value) > 500):
            raise _bad(f"inputs.{name}: a string (500 characters at most), number or boolean", f"inputs.{name}")
    flow = body.get("flow")
    if flow is not None and (not isinstance(flow, str) or not 0 < len(flow) <= 64):
        raise _bad("flow: a flow id", "flow")
    deadline = body.get("deadline_ms")
    if deadline is not None and (isinstance(deadline, bool) or not isinstance(deadline, int | float)
                                 or not 0 < deadline <= max_deadline_s * 1000):  # fmt: skip
        raise _bad(f"deadline_ms: above 0, at most {max_deadline_s * 1000:.0f}", "deadline_ms")
    return fields, inputs, flow, deadline / 1000 if deadline is not None else None


class ResourcesApi:
    def __init__(self, config: ResourcesConfig, signer: TokenSigner, *, max_body_bytes: int,
                 clock: Clock = SYSTEM_CLOCK) -> None:  # fmt: skip
        self.config = config
        self.signer = signer
        self.max_body = max_body_bytes
        bases = {"backoffice": config.backoffice_url.rstrip("/")}
        paths = [Path(p) for p in config.definitions] or [DEFINITIONS_DIR]
        self.catalog = load_catalog(paths, bases)  # a definition that does not validate stops start-up
        self.client = AiohttpClient(connections=config.connections)
        self.executor = Executor(self.catalog, self.client, bases, clock=clock,
                                 cache=TtlCache(clock, config.cache_entries))  # fmt: skip

    def install(self, app: web.Application) -> None:
        app.router.add_post("/v1/resources/resolve", self.resolve)
        app.router.add_get("/v1/resources", self.status)

    async def start(self) -> None:
        await self.client.start()

    async def stop(self) -> None:
        await self.client.stop()

    async def resolve(self, request: web.Request) -> web.Response:
        claims = bearer_claims(self.signer, request.headers.get("Authorization", ""), action="resources.resolve",
                               why=_WHY)  # fmt: skip
        fields, inputs, flow, deadline_s = parse_request(await read_json(request, max_bytes=self.max_body),
                                                         self.config.max_deadline_s)  # fmt: skip
        if flow is not None and not claims.subject.startswith("site:"):
            raise NotAllowed("only a site names a flow (self-service on a caller's behalf)", field="flow")
        role = claims.extra.get("role")
        the_plan = plan(self.catalog, fields, set(inputs), role=role if isinstance(role, str) else None, flow=flow)
        result = await self.executor.resolve(the_plan, inputs, deadline_s=deadline_s or self.config.deadline_s)
        return web.json_response({"values": result.values, "errors": result.errors, "plan": the_plan.describe()})

    async def status(self, request: web.Request) -> web.Response:
        bearer_claims(self.signer, request.headers.get("Authorization", ""), action="resources.resolve", why=_WHY)
        return web.json_response(self.executor.status())
