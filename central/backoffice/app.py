"""The simulator's HTTP API (JSON; every route may be slowed or broken on purpose).

Bank (core system)::

    GET  /bank/customers/{number}                     customer, accounts, first account of each kind
    GET  /bank/accounts/{account_id}/transactions?limit=5
    POST /bank/customers/{number}/transfers   {source, target, amount}   daily limit 5,000
    POST /bank/accounts/{account_id}/block    {reason}                   block the card
    POST /bank/accounts/{account_id}/statements                          a statement by e-mail
    GET  /bank/branches/{branch}/slots
    POST /bank/branches/{branch}/bookings     {at, customer_number}

Gas utility (billing)::

    GET  /gas/customers/{number}/meter
    GET  /gas/customers/{number}/bill                 amount, due, paid, arrears
    POST /gas/customers/{number}/readings     {kwh}
    POST /gas/customers/{number}/leaks        {address}                  dispatches a crew

Faults: ``?latency_ms=&error_rate=&malformed=1`` on any request, or ``PUT /faults`` with
``{latency_ms, error_rate, malformed_rate}`` for every request after it (``GET /faults``).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web

from central.backoffice.data import BackOffice
from central.backoffice.errors import BackofficeError, InjectedFault
from cluster.clock import SYSTEM_CLOCK, Clock
from cluster.http import make_app, read_json

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Faults:
    latency_ms: float = 0.0
    error_rate: float = 0.0
    malformed_rate: float = 0.0

    def overlay(self, query: Any) -> Faults:
        """These faults with a request's own ``latency_ms``, ``error_rate``, ``malformed``."""
        try:
            latency = float(query.get("latency_ms", self.latency_ms))
            errors = float(query.get("error_rate", self.error_rate))
            malformed = 1.0 if query.get("malformed") in ("1", "true") else self.malformed_rate
        except ValueError as exc:
            raise BackofficeError(f"fault parameters are numbers: {exc}", error_id="backoffice.bad_fault") from exc
        return Faults(latency, errors, malformed).checked()

    def checked(self) -> Faults:
        if not 0 <= self.latency_ms <= 60_000:
            raise BackofficeError("latency_ms: 0 to 60000", error_id="backoffice.bad_fault", field="latency_ms")
        for name in ("error_rate", "malformed_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise BackofficeError(f"{name}: 0 to 1", error_id="backoffice.bad_fault", field=name)
        return self


def _number(body: dict[str, Any], name: str) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BackofficeError(f"{name} must be a number", field=name)
    return float(value)


def _text(body: dict[str, Any], name: str, default: str | None = None) -> str:
    value = body.get(name, default)
    if not isinstance(value, str) or not value or len(value) > 200:
        raise BackofficeError(f"{name} must be a non-empty string", field=name)
    return value


class BackofficeApp:
    """The aiohttp application over one :class:`BackOffice`."""

    def __init__(self, office: BackOffice | None = None, *, faults: Faults | None = None,
                 clock: Clock = SYSTEM_CLOCK, rng: random.Random | None = None) -> None:  # fmt: skip
        self.office = office or BackOffice()
        self.faults = faults or Faults()
        self.clock = clock
        self.rng = rng or random.Random(7)
        self.app = make_app(lambda: {"ok": True, "role": "backoffice"})
        self.app.middlewares.append(self._faults)
        r = self.app.router
        r.add_get("/faults", self.get_faults)
        r.add_put("/faults", self.put_faults)
        r.add_get("/bank/customers/{number}", self.summary)
        r.add_get("/bank/accounts/{account_id}/transactions", self.transactions)
        r.add_post("/bank/customers/{number}/transfers", self.transfer)
        r.add_post("/bank/accounts/{account_id}/block", self.block)
        r.add_post("/bank/accounts/{account_id}/statements", self.statement)
        r.add_get("/bank/branches/{branch}/slots", self.slots)
        r.add_post("/bank/branches/{branch}/bookings", self.book)
        r.add_get("/gas/customers/{number}/meter", self.meter)
        r.add_get("/gas/customers/{number}/bill", self.bill)
        r.add_post("/gas/customers/{number}/readings", self.reading)
        r.add_post("/gas/customers/{number}/leaks", self.leak)

    @web.middleware
    async def _faults(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in ("/faults", "/healthz", "/metrics"):
            return await handler(request)
        faults = self.faults.overlay(request.query)
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.error_rate > 0 and self.rng.random() < faults.error_rate:
            raise InjectedFault("injected error (error_rate)")
        response = await handler(request)
        if faults.malformed_rate > 0 and self.rng.random() < faults.malformed_rate:
            return web.Response(text='{"truncated": ', content_type="application/json")
        return response

    async def get_faults(self, _: web.Request) -> web.Response:
        return web.json_response(asdict(self.faults))

    async def put_faults(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        unknown = set(body) - {"latency_ms", "error_rate", "malformed_rate"}
        if unknown:
            raise BackofficeError(f"unknown fault keys: {sorted(unknown)}", error_id="backoffice.bad_fault")
        self.faults = Faults(**{k: _number(body, k) for k in body}).checked()
        return web.json_response(asdict(self.faults))

    async def summary(self, request: web.Request) -> web.Response:
        return web.json_response(self.office.summary(request.match_info["number"]))

    async def transactions(self, request: web.Request) -> web.Response:
        raw = request.query.get("limit", "5")
        if not raw.isdigit() or not 1 <= int(raw) <= 50:
            raise BackofficeError("limit: 1 to 50", field="limit")
        return web.json_response(self.office.transactions(request.match_info["account_id"], int(raw)))

    async def transfer(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        return web.json_response(self.office.transfer(request.match_info["number"], _text(body, "source"),
                                                      _text(body, "target"), _number(body, "amount"),
                                                      self.clock.now()))  # fmt: skip

    async def block(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        return web.json_response(self.office.block_card(request.match_info["account_id"],
                                                        _text(body, "reason", "lost")))  # fmt: skip

    async def statement(self, request: web.Request) -> web.Response:
        return web.json_response(self.office.statement(request.match_info["account_id"], self.clock.now()))

    async def slots(self, request: web.Request) -> web.Response:
        return web.json_response(self.office.slots(request.match_info["branch"], self.clock.now()))

    async def book(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        return web.json_response(self.office.book(request.match_info["branch"], _number(body, "at"),
                                                  _text(body, "customer_number"), self.clock.now()))  # fmt: skip

    async def meter(self, request: web.Request) -> web.Response:
        return web.json_response(self.office.meter(request.match_info["number"]))

    async def bill(self, request: web.Request) -> web.Response:
        return web.json_response(self.office.bill(request.match_info["number"]))

    async def reading(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        return web.json_response(self.office.reading(request.match_info["number"], _number(body, "kwh"),
                                                     self.clock.now()))  # fmt: skip

    async def leak(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        return web.json_response(self.office.leak(request.match_info["number"], _text(body, "address"),
                                                  self.clock.now()))  # fmt: skip
