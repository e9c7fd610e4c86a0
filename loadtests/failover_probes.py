"""What ``bench_failover`` observes besides the clients: etcd's own history of the run (when
the site's membership key went, whether central confirmed a death, when each call moved), the
centrals' probe counters, and the moment a re-attached client hears its peer's tone."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from cluster.callrecords import CallRecord
from cluster.etcd import Etcd, EventType, KeyValue
from cluster.keys import Keyspace
from webrtc_client.audio import Receiver, band_share, rms
from webrtc_client.client import Signalling

KEYS = Keyspace()


@dataclass
class Seen:
    at: float  # time.monotonic() when the bench saw it
    revision: int
    key: str
    deleted: bool
    value: bytes


@dataclass
class EtcdTap:
    """Every change under the cluster's prefix from now on, with the time the bench saw it."""

    endpoints: list[str]
    seen: list[Seen] = field(default_factory=list)
    _etcd: Etcd | None = None
    _task: asyncio.Task[None] | None = None

    async def start(self) -> EtcdTap:
        self._etcd = await Etcd.connect(self.endpoints, timeout_s=10)
        _, head = await self._etcd.get_prefix(KEYS.config("bench-marker"))
        self._task = asyncio.create_task(self._watch(head + 1), name="bench-etcd-tap")
        return self

    async def _watch(self, start: int) -> None:
        assert self._etcd is not None
        async for event in self._etcd.watch_prefix(KEYS.prefix + "/", start_revision=start):
            self.seen.append(Seen(time.monotonic(), event.mod_revision, event.key,
                                  event.type is EventType.DELETE, event.value))

    def site_gone(self, site: str) -> Seen | None:
        return next((s for s in self.seen if s.key == KEYS.site(site) and s.deleted), None)

    def death(self, site: str) -> Seen | None:
        return next((s for s in self.seen if s.key == KEYS.death(site) and not s.deleted), None)

    def moves_from(self, site: str) -> list[tuple[Seen, CallRecord]]:
        """Every failover write that took a call away from ``site``, in revision order."""
        moves = []
        for s in self.seen:
            if s.deleted or not s.key.startswith(KEYS.calls):
                continue
            record = CallRecord.from_kv(KeyValue(s.key, s.value, 0, s.revision, 0, 0))
            if record.state == "moving" and record.site != site and site in record.sites:
                moves.append((s, record))
        return moves

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._etcd is not None:
            await self._etcd.close()


_PROBE_LINE = re.compile(r'^cc_site_probes_total\{outcome="(\w+)"\} ([0-9.e+]+)$', re.M)


async def probe_counts(central_urls: list[str]) -> dict[str, int]:
    """``cc_site_probes_total`` by outcome, summed over the central replicas."""
    totals: dict[str, int] = {}
    async with aiohttp.ClientSession() as http:
        for url in central_urls:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(url + "/metrics", timeout=aiohttp.ClientTimeout(total=2)) as r:
                    for outcome, value in _PROBE_LINE.findall(await r.text()):
                        totals[outcome] = totals.get(outcome, 0) + int(float(value))
    return totals


async def first_heard(receiver: Receiver, freq: float, *, timeout_s: float, window_s: float = 0.06) -> float | None:
    """``time.monotonic()`` when ``freq`` first dominates a ``window_s`` window of what the
    receiver's current track carries (call after the re-attach: attaching clears the old audio)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        x = receiver.recent(window_s)
        if len(x) >= int(0.9 * window_s * receiver.rate) and rms(x) > 300 and band_share(x, receiver.rate, freq) >= 0.5:
            return time.monotonic()
        await asyncio.sleep(0.01)
    return None


def first_event_at(sig: Signalling | None, name: str) -> float | None:
    """When ``sig`` received the event ``name`` first (monotonic), if it did."""
    if sig is None:
        return None
    for data, at in zip(sig.received, sig.received_at, strict=False):
        if data.get("type") == "event" and data.get("event") == name:
            return at
    return None


def last_position(sig: Signalling | None) -> int | None:
    if sig is None:
        return None
    positions = [d.get("data", {}).get("position") for d in sig.received
                 if d.get("type") == "event" and d.get("event") == "queued"]
    return positions[-1] if positions else None


def death_info(seen: Seen | None) -> dict[str, Any] | None:
    return None if seen is None else dict(json.loads(seen.value))


def cpu_s(pid: int | None = None) -> float:
    """CPU seconds (user + system) of this process, or of ``pid`` (from ``/proc``)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class DetachedTap:
    """An :class:`EtcdTap` on its own thread and event loop, for a bench that blocks meanwhile."""

    def __init__(self, endpoints: list[str]) -> None:
        self.tap = EtcdTap(endpoints)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bench-etcd-tap", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.tap.start(), self._loop).result(timeout=15)

    def stop(self) -> EtcdTap:
        asyncio.run_coroutine_threadsafe(self.tap.stop(), self._loop).result(timeout=15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
        return self.tap
