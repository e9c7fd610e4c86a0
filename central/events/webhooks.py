"""Webhook delivery: one task per subscription, reading the event log from the subscription's
acknowledged offset (``delivered_seq``), so a dead endpoint's backlog waits in the database and
costs no memory beyond one page; call handling never waits for it.

Each POST carries one event (``docs/events.md``)::

    X-CC-Event-Id   the event id: the idempotency key (a retry repeats it)
    X-CC-Timestamp  seconds since the epoch, when this attempt was signed
    X-CC-Signature  v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>

A 2xx acknowledges it; anything else (or no answer) is retried with exponential backoff, and the
next event of the subscription waits: delivery is in order (so in order per call)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from central.events.derive import Event, matches
from central.events.store import EventStore
from central.notify.backoff import Backoff, next_delay
from cluster.clock import Clock
from cluster.logs import log
from cluster.tasks import cancel_and_wait

_log = logging.getLogger(__name__)

PAGE = 100  # events read from the database at a time per subscription (the bounded look-ahead)
FOREVER = 1 << 30  # at-least-once: a subscription retries until it is deleted


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def body_of(event: Event) -> bytes:
    return json.dumps(event.document(), sort_keys=True, separators=(",", ":")).encode()


class Delivery:
    """One subscription's sender."""

    def __init__(self, store: EventStore, subscription: dict[str, Any], http: aiohttp.ClientSession, clock: Clock,
                 policy: Backoff, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:  # fmt: skip
        self.store = store
        self.sub = subscription
        self.http = http
        self.clock = clock
        self.policy = policy
        self.sleep = sleep
        self.wake = asyncio.Event()
        self.cursor = int(subscription["delivered_seq"])

    async def run(self) -> None:
        while True:
            events = await self.store.after(self.cursor, PAGE)
            if not events:
                self.wake.clear()
                try:
                    async with asyncio.timeout(1.0):  # other replicas' events arrive without a wake
                        await self.wake.wait()
                except TimeoutError:
                    pass
                continue
            for event in events:
                if matches(event, self.sub["types"], self.sub["sites"], self.sub["queues"]):
                    await self._send(event)
                self.cursor = event.seq
            await self.store.delivered(self.sub["id"], self.cursor)

    async def _send(self, event: Event) -> None:
        body, attempts = body_of(event), 0
        while True:
            stamp = str(int(self.clock.now()))
            headers = {"Content-Type": "application/json", "X-CC-Event-Id": event.event_id, "X-CC-Timestamp": stamp,
                       "X-CC-Signature": sign(self.sub["secret"], stamp, body)}  # fmt: skip
            try:
                async with self.http.post(self.sub["url"], data=body, headers=headers) as answer:
                    if 200 <= answer.status < 300:
                        return
                    reason = f"status {answer.status}"
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                reason = type(exc).__name__
            attempts += 1
            delay = next_delay(self.policy, min(attempts, 60)) or self.policy.max_s
            log(_log, logging.INFO, "webhook retry", subscription=self.sub["id"], event_id=event.event_id,
                reason=reason, attempts=attempts, delay_s=delay)  # fmt: skip
            await self.sleep(delay)


class Dispatcher:
    """Every subscription's :class:`Delivery`, owned: started, re-read on change, cancelled on stop."""

    def __init__(self, store: EventStore, clock: Clock, policy: Backoff, *, timeout_s: float = 10.0) -> None:
        self.store = store
        self.clock = clock
        self.policy = Backoff(policy.base_s, policy.factor, policy.max_s, FOREVER)
        self.timeout_s = timeout_s
        self._http: aiohttp.ClientSession | None = None
        self._running: dict[int, tuple[Delivery, asyncio.Task[None]]] = {}

    @property
    def running(self) -> bool:
        return self._http is not None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        await self.refresh()

    async def refresh(self, restart: int | None = None) -> None:
        """Start a delivery for every subscription; restart changed ones (and ``restart``); stop deleted ones."""
        if self._http is None:
            return
        wanted = {s["id"]: s for s in await self.store.subscriptions()}
        for sub_id in list(self._running):
            if sub_id not in wanted or sub_id == restart or self._changed(self._running[sub_id][0].sub, wanted[sub_id]):
                await cancel_and_wait([self._running.pop(sub_id)[1]])
        for sub_id in wanted:
            if sub_id not in self._running:
                sub = await self.store.subscription(sub_id, with_secret=True)
                delivery = Delivery(self.store, sub, self._http, self.clock, self.policy)
                task = asyncio.create_task(self._guard(delivery), name=f"events-webhook-{sub_id}")
                self._running[sub_id] = (delivery, task)

    @staticmethod
    def _changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
        return any(old[k] != new[k] for k in ("url", "types", "sites", "queues"))

    async def _guard(self, delivery: Delivery) -> None:
        while True:
            try:
                await delivery.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log(_log, logging.ERROR, "webhook delivery failed; restarting", subscription=delivery.sub["id"],
                    exc_info=True)  # fmt: skip
                await asyncio.sleep(1.0)
                delivery.cursor = int((await self.store.subscription(delivery.sub["id"]))["delivered_seq"])

    def wake(self) -> None:
        for delivery, _task in self._running.values():
            delivery.wake.set()

    async def stop(self) -> None:
        await cancel_and_wait([task for _d, task in self._running.values()])
        self._running = {}
        if self._http is not None:
            await self._http.close()
            self._http = None
