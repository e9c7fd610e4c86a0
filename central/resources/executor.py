"""The executor: runs a :class:`~central.resources.planner.Plan` level by level, the steps of a
level in parallel, each call with its own timeout and retries inside one deadline for the whole
plan, GET answers cached for their resource's TTL.

Nothing escapes as an exception: a call that times out, fails or answers malformed data puts a
clear error on each field it should have produced (``resources.timeout``,
``resources.backend_error``, ``resources.backend_refused``, ``resources.malformed``,
``resources.deadline``), and the fields computed from it get ``resources.dependency_failed``.
Per resource: ``cc_resource_calls_total{resource,outcome}`` and
``cc_resource_call_seconds{resource}`` (Prometheus), and :meth:`Executor.status` for the page.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

from prometheus_client import Counter, Histogram

from central.resources.errors import ExpressionError
from central.resources.model import Catalog, OutputSpec, Resource
from central.resources.planner import Plan, Step
from cluster.clock import SYSTEM_CLOCK, Clock
from cluster.logs import log

_log = logging.getLogger(__name__)
CALLS = Counter("cc_resource_calls_total", "Resource calls by outcome", ["resource", "outcome"])
LATENCY = Histogram("cc_resource_call_seconds", "Resource call latency (each attempt)", ["resource"],
                    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))  # fmt: skip
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_TYPES: Mapping[str, tuple[type, ...]] = {
    "number": (int, float), "string": (str,), "boolean": (bool,), "list": (list,), "object": (dict,),
}  # fmt: skip


class HttpClient(Protocol):
    """Sends one request; returns the status and the body's text. Raises ``TimeoutError`` when
    ``timeout_s`` passes and ``OSError`` (or aiohttp's ``ClientError``) when the server is not
    reachable."""

    async def send(self, method: str, url: str, body: dict[str, Any] | None, timeout_s: float) -> tuple[int, str]: ...


class FieldError(Exception):
    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id
        self.message = message


class TtlCache:
    """Answers by (resource, version, inputs), each kept for its resource's TTL; bounded (LRU)."""

    def __init__(self, clock: Clock, max_entries: int = 10_000) -> None:
        self.clock = clock
        self.max_entries = max_entries
        self._items: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> Any | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= self.clock.monotonic():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return item[1]

    def put(self, key: tuple[Any, ...], value: Any, ttl_s: float) -> None:
        self._items[key] = (self.clock.monotonic() + ttl_s, value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)


@dataclass
class Usage:
    calls: int = 0
    errors: int = 0
    cached: int = 0
    seconds: float = 0.0

    def view(self) -> dict[str, Any]:
        return {"calls": self.calls, "errors": self.errors, "cached": self.cached,
                "error_rate": round(self.errors / self.calls, 4) if self.calls else 0.0,
                "mean_ms": round(1000 * self.seconds / self.calls, 2) if self.calls else None}  # fmt: skip


@dataclass
class Resolution:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)

    def fail(self, fields: tuple[str, ...], error_id: str, message: str) -> None:
        for name in fields:
            self.errors[name] = {"error_id": error_id, "message": message}


def extract(spec: OutputSpec, answer: Any, name: str) -> Any:
    """The output's value in a decoded answer, checked against its type."""
    value = answer
    for part in spec.path.split("."):
        if not isinstance(value, dict) or part not in value or value[part] is None:
            if spec.optional:
                return None
            raise FieldError("resources.malformed", f"{name}: the answer has no {spec.path}")
        value = value[part]
    allowed = _TYPES.get(spec.type)
    bad_bool = spec.type == "number" and isinstance(value, bool)
    if allowed is not None and (not isinstance(value, allowed) or bad_bool):
        raise FieldError("resources.malformed", f"{name}: {spec.path} is not a {spec.type}")
    if isinstance(value, float) and not math.isfinite(value):
        raise FieldError("resources.malformed", f"{name}: {spec.path} is not a finite number")
    return value


class Executor:
    def __init__(self, catalog: Catalog, client: HttpClient, bases: Mapping[str, str], *,
                 clock: Clock = SYSTEM_CLOCK, cache: TtlCache | None = None) -> None:  # fmt: skip
        self.catalog = catalog
        self.client = client
        self.bases = dict(bases)
        self.clock = clock
        self.cache = cache or TtlCache(clock)
        self.usage: dict[str, Usage] = {name: Usage() for name in catalog.resources}
        outcomes = ("ok", "cached", "error", "timeout", "refused", "malformed")
        self._calls = {(n, o): CALLS.labels(n, o) for n in catalog.resources for o in outcomes}
        self._latency = {n: LATENCY.labels(n) for n in catalog.resources}

    def status(self) -> dict[str, Any]:
        return {"catalogs": dict(self.catalog.versions),
                "resources": {name: {"catalog": r.catalog, "version": r.version, **self.usage[name].view()}
                              for name, r in sorted(self.catalog.resources.items())}}  # fmt: skip

    async def resolve(self, plan: Plan, inputs: Mapping[str, Any], *, deadline_s: float) -> Resolution:
        """Every requested field's value or error; a plan never raises."""
        result = Resolution()
        known: dict[str, Any] = {name: inputs[name] for name in plan.inputs}
        deadline = self.clock.monotonic() + deadline_s
        for level in plan.levels:
            if len(level) == 1:
                await self._step(level[0], known, result, deadline)
            else:
                await asyncio.gather(*(self._step(step, known, result, deadline) for step in level))
        result.values = {name: known[name] for name in plan.requested if name in known}
        result.errors = {name: e for name, e in result.errors.items() if name in plan.requested}
        return result

    async def _step(self, step: Step, known: dict[str, Any], result: Resolution, deadline: float) -> None:
        failed = [name for name in step.needs if name in result.errors]
        if failed:
            first = result.errors[failed[0]]
            result.fail(step.fields, "resources.dependency_failed",
                        f"needs {failed[0]}, which failed: {first['message']}")  # fmt: skip
            return
        try:
            if step.kind == "derive":
                expression = self.catalog.derived[step.name].expression
                known[step.name] = expression.evaluate({n: known[n] for n in step.needs})
                return
            answer = await self._call(self.catalog.resources[step.name], known, deadline)
            for name in step.fields:
                try:
                    known[name] = extract(self.catalog.resources[step.name].spec.outputs[name], answer, name)
                except FieldError as exc:
                    result.fail((name,), exc.error_id, exc.message)
        except FieldError as exc:
            result.fail(step.fields, exc.error_id, exc.message)
        except ExpressionError as exc:
            result.fail(step.fields, exc.error_id, exc.message)
        except Exception as exc:  # a plan never raises: the field says what went wrong
            log(_log, logging.ERROR, "resource step failed", step=step.name, exc_info=True)
            result.fail(step.fields, "resources.internal", f"{step.name}: {type(exc).__name__}")

    def _url(self, resource: Resource, known: Mapping[str, Any]) -> str:
        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in resource.spec.inputs:
                return quote(str(known[name]), safe="")
            return self.bases[name]

        return _PLACEHOLDER.sub(fill, resource.spec.url)

    async def _call(self, resource: Resource, known: Mapping[str, Any], deadline: float) -> Any:
        spec = resource.spec
        usage = self.usage[spec.name]
        values = tuple(known[name] for name in spec.inputs)
        key = (spec.name, resource.version, values)
        cacheable = spec.method == "GET" and spec.cache_ttl_s > 0
        if cacheable:
            hit = self.cache.get(key)
            if hit is not None:
                usage.cached += 1
                self._calls[spec.name, "cached"].inc()
                return hit
        url = self._url(resource, known)
        body = {k: known[v] for k, v in spec.body.items()} if spec.method == "POST" else None
        last = FieldError("resources.deadline", f"{spec.name}: the plan's deadline passed before it could run")
        for _attempt in range(spec.retries + 1):
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                break
            outcome, answer, last = await self._attempt(spec.name, spec.method, url, body,
                                                        min(spec.timeout_s, remaining))  # fmt: skip
            usage.calls += 1
            self._calls[spec.name, outcome].inc()
            if outcome == "ok":
                if cacheable:
                    self.cache.put(key, answer, spec.cache_ttl_s)
                return answer
            usage.errors += 1
            if outcome in ("refused", "malformed") or (spec.method == "POST" and outcome == "timeout"):
                break  # a 4xx or bad data does not get better; a POST that may have happened is not resent
        raise last

    async def _attempt(self, name: str, method: str, url: str, body: dict[str, Any] | None,
                       timeout_s: float) -> tuple[str, Any, FieldError]:  # fmt: skip
        started = self.clock.monotonic()
        none = FieldError("resources.internal", "")
        try:
            async with asyncio.timeout(timeout_s):
                status, text = await self.client.send(method, url, body, timeout_s)
        except TimeoutError:
            return "timeout", None, FieldError("resources.timeout", f"{name}: no answer within {timeout_s:.3g} s")
        except Exception as exc:  # connection refused, reset, DNS: the back office is not reachable
            return "error", None, FieldError("resources.backend_error", f"{name}: not reachable ({type(exc).__name__})")
        finally:
            took = self.clock.monotonic() - started
            self._latency[name].observe(took)
            self.usage[name].seconds += took
        if status >= 500:
            return "error", None, FieldError("resources.backend_error", f"{name}: the back office answered {status}")
        try:
            answer = json.loads(text)
        except ValueError:
            return "malformed", None, FieldError("resources.malformed", f"{name}: the answer is not JSON")
        if status >= 400:
            reason = answer.get("message") if isinstance(answer, dict) else None
            code = answer.get("error_id") if isinstance(answer, dict) else None  # e.g. backoffice.limit_exceeded
            why = f"{status} {str(code)[:64]}" if code else str(status)
            return "refused", None, FieldError("resources.backend_refused",
                                               f"{name}: refused ({why}): {str(reason or '')[:200]}")  # fmt: skip
        if not isinstance(answer, dict):
            return "malformed", None, FieldError("resources.malformed", f"{name}: the answer is not a JSON object")
        return "ok", answer, none
