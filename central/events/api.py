"""The event stream's HTTP API (any replica serves it; every action role-checked) and the
feature's one wiring point, :class:`EventsFeature`.

GET    /v1/events?after=&limit=&type=&site=&queue=   a page of the log from an offset (events.read)
GET    /v1/events/stream?after=&type=&site=&queue=   the same as Server-Sent Events, live;
                                                     resumes from ``Last-Event-ID`` (events.read)
POST   /v1/events/subscriptions        {url, secret, types?, sites?, queues?} a webhook (events.subscribe)
GET    /v1/events/subscriptions        every subscription (never its secret)
GET    /v1/events/subscriptions/{id}
PUT    /v1/events/subscriptions/{id}   {url?, secret?, types?, sites?, queues?}
DELETE /v1/events/subscriptions/{id}
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from aiohttp import web

from central.business.db import BusinessDb
from central.business.http import ServiceGate, path_id
from central.events.derive import EVENT_TYPES, Event, matches
from central.events.errors import BadQuery, BadSubscription
from central.events.source import Recorder
from central.events.store import EventStore
from central.events.webhooks import Dispatcher
from central.notify.backoff import Backoff
from central.state import Changes
from cluster.clock import SYSTEM_CLOCK, Clock
from cluster.etcd import Etcd
from cluster.http import read_json
from cluster.keys import Keyspace
from cluster.tokens import TokenSigner

MAX_PAGE = 500
MAX_FILTER = 50
FAMILIES = sorted({t.split(".")[0] + ".*" for t in EVENT_TYPES})
_WHY = {
    "events.read": "only managers and administrators read the event stream",
    "events.subscribe": "only administrators configure webhooks",
}
_FIELDS = ("url", "secret", "types", "sites", "queues")


class BusinessDbSource(Protocol):
    @property
    def db(self) -> BusinessDb | None: ...


def _names(body: dict[str, Any], key: str, allowed: list[str] | None = None) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or len(value) > MAX_FILTER:
        raise BadSubscription(f"{key}: a list of at most {MAX_FILTER} names", field=key)
    for item in value:
        if not isinstance(item, str) or not 0 < len(item) <= 64:
            raise BadSubscription(f"{key}: names of 1 to 64 characters", field=key)
        if allowed is not None and item not in allowed:
            raise BadSubscription(f"{key}: {item!r} is not an event type ({', '.join(FAMILIES)} or one type)",
                                  field=key)  # fmt: skip
    return list(value)


def subscription_values(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The columns a subscription body sets, or :class:`BadSubscription` naming the field."""
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise BadSubscription(f"unknown field {unknown[0]!r} (fields: {', '.join(_FIELDS)})", field=unknown[0])
    values: dict[str, Any] = {}
    if "url" in body or not partial:
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 500:
            raise BadSubscription("url: an http:// or https:// address of at most 500 characters", field="url")
        values["url"] = url
    if "secret" in body or not partial:
        secret = body.get("secret")
        if not isinstance(secret, str) or not 16 <= len(secret) <= 200:
            raise BadSubscription("secret: 16 to 200 characters, shared with the receiver (there is no default)",
                                  field="secret")  # fmt: skip
        values["secret"] = secret
    for key, allowed in (("types", [*EVENT_TYPES, *FAMILIES]), ("sites", None), ("queues", None)):
        if key in body or not partial:
            values[key] = _names(body, key, allowed)
    return values


def _offset(request: web.Request) -> int:
    raw = request.query.get("after", request.headers.get("Last-Event-ID", "0")) or "0"
    if not raw.isdigit() or len(raw) > 18:
        raise BadQuery("after (or Last-Event-ID): an event's seq, a number", field="after")
    return int(raw)


def _filters(request: web.Request) -> tuple[list[str], list[str], list[str]]:
    try:
        types = _names({"types": request.query.getall("type", [])}, "types", [*EVENT_TYPES, *FAMILIES])
    except BadSubscription as exc:
        raise BadQuery(exc.message, field="type") from exc
    return types, request.query.getall("site", []), request.query.getall("queue", [])


class EventsFeature:
    """``install`` adds the routes; ``start`` (after the business database) opens the log;
    ``attach`` starts recording from etcd; ``lead`` / ``step_down`` run the webhooks (the routing
    leader delivers, so one replica sends each event; a change of leader may repeat one, which
    the receiver drops by its id)."""

    def __init__(self, business: BusinessDbSource, signer: TokenSigner, *, max_body_bytes: int,
                 clock: Clock = SYSTEM_CLOCK, backoff: Backoff | None = None, poll_s: float = 1.0) -> None:  # fmt: skip
        self.business = business
        self.gate: ServiceGate[EventStore] = ServiceGate(signer, _WHY, unavailable_id="events.unavailable")
        self.max_body = max_body_bytes
        self.clock = clock
        self.backoff = backoff or Backoff(base_s=1.0, factor=2.0, max_s=60.0)
        self.poll_s = poll_s
        self.changes = Changes()
        self.recorder: Recorder | None = None
        self.dispatcher: Dispatcher | None = None

    def install(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/v1/events", self.page)
        r.add_get("/v1/events/stream", self.stream)
        r.add_post("/v1/events/subscriptions", self.create)
        r.add_get("/v1/events/subscriptions", self.listing)
        r.add_get("/v1/events/subscriptions/{id}", self.show)
        r.add_put("/v1/events/subscriptions/{id}", self.change)
        r.add_delete("/v1/events/subscriptions/{id}", self.delete)

    async def start(self) -> None:
        db = self.business.db
        if db is None:
            raise RuntimeError("the event stream starts after the business database is open")
        store = EventStore(db.engine)
        self.gate.service = store
        self.dispatcher = Dispatcher(store, self.clock, self.backoff)
        self.recorder = Recorder(store, self.clock, self._new_events, workorder_poll_s=self.poll_s)

    def attach(self, etcd: Etcd | None, keys: Keyspace) -> None:
        """Record calls, agents, queues and sites from etcd (and work orders from the database)."""
        if self.recorder is not None:
            self.recorder.start(etcd, keys)

    async def lead(self) -> None:
        if self.dispatcher is not None and not self.dispatcher.running:
            await self.dispatcher.start()

    async def step_down(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.stop()

    async def stop(self) -> None:
        await self.step_down()
        if self.recorder is not None:
            await self.recorder.stop()
        self.gate.service = None

    def _new_events(self) -> None:
        self.changes.pulse()
        if self.dispatcher is not None:
            self.dispatcher.wake()

    async def page(self, request: web.Request) -> web.Response:
        _claims, store = self.gate.enter(request, "events.read")
        after, (types, sites, queues) = _offset(request), _filters(request)
        raw = request.query.get("limit", "100")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
            raise BadQuery(f"limit: 1 to {MAX_PAGE}", field="limit")
        events = await store.after(after, int(raw))
        last = events[-1].seq if events else after
        shown = [e.document() for e in events if matches(e, types, sites, queues)]
        return web.json_response({"events": shown, "next_after": last})

    async def stream(self, request: web.Request) -> web.StreamResponse:
        _claims, store = self.gate.enter(request, "events.read")
        after, (types, sites, queues) = _offset(request), _filters(request)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        while True:
            events: list[Event] = await store.after(after, 100)
            for event in events:
                after = event.seq
                if matches(event, types, sites, queues):
                    line = json.dumps(event.document(), separators=(",", ":"))
                    await response.write(f"id: {event.seq}\nevent: {event.type}\ndata: {line}\n\n".encode())
            if not events:
                await response.write(b": waiting\n\n")
                await self.changes.wait(self.poll_s)  # other replicas' events: seen at the next poll

    async def create(self, request: web.Request) -> web.Response:
        claims, store = self.gate.enter(request, "events.subscribe")
        values = subscription_values(await read_json(request, max_bytes=self.max_body), partial=False)
        sub = await store.add_subscription({**values, "created_by": claims.subject, "created_at": self.clock.now()})
        await self._refresh()
        return web.json_response(sub, status=201)

    async def listing(self, request: web.Request) -> web.Response:
        _claims, store = self.gate.enter(request, "events.subscribe")
        return web.json_response({"subscriptions": await store.subscriptions()})

    async def show(self, request: web.Request) -> web.Response:
        _claims, store = self.gate.enter(request, "events.subscribe")
        return web.json_response(await store.subscription(path_id(request, BadSubscription)))

    async def change(self, request: web.Request) -> web.Response:
        _claims, store = self.gate.enter(request, "events.subscribe")
        sub_id = path_id(request, BadSubscription)
        values = subscription_values(await read_json(request, max_bytes=self.max_body), partial=True)
        await store.subscription(sub_id)
        sub = await store.update_subscription(sub_id, values) if values else await store.subscription(sub_id)
        await self._refresh(restart=sub_id)
        return web.json_response(sub)

    async def delete(self, request: web.Request) -> web.Response:
        _claims, store = self.gate.enter(request, "events.subscribe")
        await store.delete_subscription(path_id(request, BadSubscription))
        await self._refresh()
        return web.json_response({"deleted": True})

    async def _refresh(self, restart: int | None = None) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.refresh(restart=restart)
