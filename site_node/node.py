"""A site node process: registers its membership under a lease and serves HTTP.

The membership entry carries the site's signalling URL, skills and load summary, refreshed at
most about once a second. If the session is lost (etcd partition, long pause) the node stops
being a member; when etcd is reachable again it registers anew with a fresh lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from cluster.commands import serve_until
from cluster.errors import EtcdUnavailable
from cluster.etcd import Etcd, Session
from cluster.http import make_app
from cluster.keys import Keyspace
from cluster.listeners import Listeners, serves_metrics_publicly
from cluster.logs import log
from cluster.looplag import LoopLagMonitor
from cluster.membership import Membership, Registration
from site_node.config import SiteSettings
from site_node.openapi import describe
from site_node.runtime.service import SiteRuntime
from webrtc_client.web import install_pages

_log = logging.getLogger(__name__)


class SiteNode:
    def __init__(self, settings: SiteSettings) -> None:
        self.settings = settings
        self.name = settings.site.name
        self.keys = Keyspace(settings.etcd.prefix)
        self.etcd: Etcd | None = None
        self.session: Session | None = None
        self.registration: Registration | None = None
        site = settings.site
        self.app: web.Application = make_app(
            self.health, max_body_bytes=site.http.max_body_bytes, metrics=serves_metrics_publicly(site.metrics)
        )
        self.http = Listeners(self.app, site.http, site.metrics, settings.tls, role="site")
        self._task: asyncio.Task[None] | None = None
        self._load_sources: list[Callable[[], dict[str, Any]]] = []
        self.runtime = SiteRuntime(settings)
        self.runtime.install(self.app)
        install_pages(self.app)
        describe().install(self.app)
        self.add_load_source(self.runtime.load_summary)
        self._publisher: asyncio.Task[None] | None = None
        self.loop_lag = LoopLagMonitor()

    @property
    def url(self) -> str:
        return self.settings.site.advertise_url or self.http.url

    def health(self) -> dict[str, Any]:
        member = self.registration is not None and self.session is not None and not self.session.lost.is_set()
        return {"ok": True, "role": "site", "name": self.name, "member": member, "url": self.url}

    def add_load_source(self, source: Callable[[], dict[str, Any]]) -> None:
        """Register a function whose dict is merged into the published load summary."""
        self._load_sources.append(source)

    def publish_load(self) -> None:
        if self.registration is None:
            return
        summary: dict[str, Any] = {}
        for source in self._load_sources:
            summary.update(source())
        self.registration.update(**summary)

    def membership_info(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "ws_url": self.url.replace("http", "ws", 1) + "/ws",
            "backup_sites": self.settings.site.backup_sites,
            "draining": False,
        }

    async def start(self) -> None:
        self.loop_lag.start()
        await self.http.start()
        self.etcd = await Etcd.connect_configured(self.settings.etcd)
        await self.runtime.start(self.etcd)
        await self._register()
        self._task = asyncio.create_task(self._stay_member(), name=f"site-{self.name}-membership")
        self._publisher = asyncio.create_task(self._publish_load(), name=f"site-{self.name}-load")
        log(_log, logging.INFO, "site started", site=self.name, url=self.url)

    async def _register(self) -> None:
        assert self.etcd is not None
        self.session = await Session(self.etcd, self.settings.etcd.lease_ttl_s).start()
        membership = Membership(self.etcd, self.keys)
        self.registration = await membership.register(
            self.session,
            self.name,
            self.membership_info(),
            publish_interval_s=self.settings.site.load_publish_interval_s,
        )
        self.publish_load()

    async def _stay_member(self) -> None:
        while True:
            assert self.session is not None
            await self.session.wait_lost()
            log(_log, logging.WARNING, "site lost its membership; registering again", site=self.name)
            if self.registration is not None:
                await self.registration.stop(leave=False)
                self.registration = None
            while True:
                try:
                    await self._register()
                    break
                except EtcdUnavailable as exc:
                    log(_log, logging.WARNING, "re-registration failed", reason=str(exc))
                    await asyncio.sleep(1.0)

    async def _publish_load(self) -> None:
        """Refresh the load summary twice a second; membership coalesces it to <= 1 write/s."""
        while True:
            await asyncio.sleep(0.5)
            self.publish_load()

    async def stop(self) -> None:
        for task in (self._task, self._publisher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.runtime.stop()
        await self.loop_lag.stop()
        if self.registration is not None:
            await self.registration.stop(leave=True)
        if self.session is not None:
            await self.session.close()
        await self.http.stop()
        if self.etcd is not None:
            await self.etcd.close()

    async def run_until(self, stop: asyncio.Event) -> None:
        await serve_until(stop, self.start, self.stop)
