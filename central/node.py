"""A central replica: campaigns for leadership and serves its HTTP API.

Every replica serves ``/healthz`` (its role and who leads) and ``/metrics``. The leader makes
routing and failover decisions; followers keep a hot copy and forward to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web
from prometheus_client import Gauge

from central.admin import AdminApi
from central.admin.store import AdminStore
from central.api import CentralApi
from central.audit_api import AuditReadApi
from central.business.wiring import BusinessServices
from central.config import CentralSettings
from central.cors import install_cors, origin_of
from central.events import EventsFeature
from central.failure.confirmer import DeathConfirmer
from central.failure.detector import ProbePolicy
from central.failure.probe import HttpProbe
from central.openapi import describe
from central.recordings.api import RecordingSearchApi
from central.records_api import CallRecordsApi
from central.resources.api import ResourcesApi
from central.routing.classify import Classifier
from central.routing.limits import RouteLimits
from central.routing.router import Router
from central.sop.resolver import ResourceResolver
from central.state import ClusterState
from central.supervision import CenterSnapshotApi
from central.wallboard import install as install_wallboard
from cluster.clock import SYSTEM_CLOCK
from cluster.commands import serve_until
from cluster.config import require_secret
from cluster.election import Election
from cluster.etcd import Etcd
from cluster.http import make_app
from cluster.keys import Keyspace
from cluster.leadership import Leadership
from cluster.listeners import Listeners, serves_metrics_publicly
from cluster.logs import log
from cluster.looplag import LoopLagMonitor
from cluster.revocation import Revocations
from cluster.tls import client_ssl
from cluster.tokens import TokenSigner

_log = logging.getLogger(__name__)

IS_LEADER = Gauge("cc_central_is_leader", "1 while this central replica leads")


class CentralNode:
    def __init__(self, settings: CentralSettings) -> None:
        self.settings = settings
        self.name = settings.central.name
        self.keys = Keyspace(settings.etcd.prefix)
        self.etcd: Etcd | None = None
        self.leadership: Leadership | None = None
        central = settings.central
        self.app: web.Application = make_app(
            self.health, max_body_bytes=central.http.max_body_bytes, metrics=serves_metrics_publicly(central.metrics)
        )
        self.state: ClusterState | None = None
        self.router: Router | None = None
        self.confirmer: DeathConfirmer | None = None
        tokens = settings.tokens
        self.revocations = Revocations(self.keys, SYSTEM_CLOCK, retry_s=settings.central.timers.watch_retry_s)
        self._revocation_watch: asyncio.Task[None] | None = None
        self.api = CentralApi(
            None,  # type: ignore[arg-type]  # the router exists once etcd is reachable
            lambda: self.leadership,
            TokenSigner(require_secret(tokens), ttl_s=tokens.call_ttl_s, previous=tokens.previous_secrets,
                        denylist=self.revocations),
            capacity_cps=settings.central.route_capacity_cps,
            max_body_bytes=settings.central.http.max_body_bytes,
            call_ttl_s=tokens.call_ttl_s,
            agent_ttl_s=tokens.agent_ttl_s,
            reattach_grace_s=settings.central.timers.reattach_grace_s,
            ca_file=settings.tls.ca_file,
            limits=RouteLimits(**settings.central.route_limits.model_dump()),  # same names as the config
            rejoin_wait_s=settings.central.failover.rejoin_wait_s,
        )
        self.api.install(self.app)
        install_cors(self.app, self._origin_allowed)
        install_wallboard(self.app, lambda: self.state)
        CallRecordsApi(lambda: self.state, self.api.signer, ca_file=settings.tls.ca_file).install(self.app)
        AuditReadApi(lambda: self.state, self.api.signer, ca_file=settings.tls.ca_file).install(self.app)
        RecordingSearchApi(lambda: self.state, self.api.signer, ca_file=settings.tls.ca_file).install(self.app)
        CenterSnapshotApi(lambda: self.state, self.api.signer, SYSTEM_CLOCK,
                          ca_file=settings.tls.ca_file).install(self.app)  # fmt: skip
        # customers, work orders, notifications: one business database, served by every replica
        self.resources = ResourcesApi(settings.resources, self.api.signer, max_body_bytes=central.http.max_body_bytes)
        self.resources.install(self.app)
        self.business = BusinessServices(settings.business, central.workorders, self.api.signer, replica=self.name,
                                         max_body_bytes=central.http.max_body_bytes,
                                         resolver=ResourceResolver(self.resources))  # fmt: skip
        self.business.install(self.app)
        # the integration event stream (issue 23): recorded by every replica, webhooks sent by the leader
        self.events = EventsFeature(self.business, self.api.signer, max_body_bytes=central.http.max_body_bytes)
        self.events.install(self.app)
        AdminApi(AdminStore(lambda: self.etcd, self.keys), self.api.signer, SYSTEM_CLOCK,
                 max_body_bytes=central.http.max_body_bytes).install(self.app)  # fmt: skip
        describe().install(self.app)
        self.http = Listeners(self.app, central.http, central.metrics, settings.tls, role="central")
        self.loop_lag = LoopLagMonitor()

    def _origin_allowed(self, origin: str) -> bool:
        """The cluster's own sites' pages (live or failed), and the configured origins."""
        if origin in self.settings.central.cors_origins:
            return True
        if self.state is None:
            return False
        # a failed site's pages stay open in browsers: they must still reach central to re-attach
        known = [*self.state.sites.values(), *self.state.departed.values()]
        return any(origin == origin_of(str(info.get("url", ""))) for info in known)

    @property
    def url(self) -> str:
        return self.http.url

    def health(self) -> dict[str, Any]:
        leadership = self.leadership
        current = leadership.current_identity() if leadership is not None else None
        return {
            "ok": leadership is not None,
            "role": "central",
            "name": self.name,
            "leader": bool(leadership and leadership.is_leader),
            "current_leader": current,
            "fencing_token": leadership.fencing_token if leadership is not None else 0,
        }

    async def _elected(self, election: Election) -> None:
        if self.router is not None:
            await self.router.lead(election)
        await self.events.lead()
        IS_LEADER.set(1)
        log(_log, logging.INFO, "central leads", name=self.name, fencing_token=election.fencing_token)

    async def _deposed(self) -> None:
        if self.router is not None:
            await self.router.step_down()
        await self.events.step_down()
        IS_LEADER.set(0)
        log(_log, logging.WARNING, "central no longer leads", name=self.name)

    async def start(self) -> None:
        self.loop_lag.start()
        await self.resources.start()
        await self.business.start()  # the business database: served by every replica, leader or not
        await self.events.start()
        await self.http.start()
        self.etcd = await Etcd.connect_configured(self.settings.etcd)
        self.revocations.connect(self.etcd)
        self.events.attach(self.etcd, self.keys)
        self._revocation_watch = asyncio.create_task(self.revocations.run(), name="revocations")
        self.state = ClusterState(self.etcd, self.keys, watch_retry_s=self.settings.central.timers.watch_retry_s)
        await self.state.start()
        central = self.settings.central
        self.router = Router(
            self.etcd, self.keys, self.state, Classifier.load(central.dnis_table),
            name=self.name, strategy=central.site_strategy, overflow_after_s=central.overflow_after_s,
            overflow_every_s=central.timers.overflow_interval_s, failover_retry_s=central.timers.failover_retry_s,
            lease_ttl_s=self.settings.etcd.lease_ttl_s,
        )
        failover = central.failover
        self.confirmer = DeathConfirmer(
            self.state, self.router,
            HttpProbe(failover.probe_timeout_s, client_ssl(self.settings.tls.ca_file)),
            policy=ProbePolicy(failover.probe_refusals, failover.probe_retry_s, failover.probe_cooldown_s,
                               max(failover.probe_max_attempts, failover.probe_refusals)),
            enabled=failover.probe, tell_leader=self.api.tell_leader,
        )
        self.api.confirmer = self.confirmer
        self.api.router = self.router
        self.leadership = Leadership(
            self.etcd,
            self.keys.election("central"),
            {"name": self.name, "url": self.http.url},
            ttl_s=self.settings.etcd.lease_ttl_s,
            on_elected=self._elected,
            on_deposed=self._deposed,
        )
        await self.leadership.start()
        log(_log, logging.INFO, "central started", name=self.name, url=self.http.url)

    async def stop(self) -> None:
        await self.loop_lag.stop()
        if self.leadership is not None:
            await self.leadership.stop()
        if self.confirmer is not None:
            await self.confirmer.stop()
        if self.router is not None:
            await self.router.stop()
        if self.state is not None:
            await self.state.stop()
        if self._revocation_watch is not None:
            self._revocation_watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._revocation_watch
        await self.http.stop()
        await self.events.stop()
        await self.business.stop()
        await self.resources.stop()
        if self.etcd is not None:
            await self.etcd.close()

    async def run_until(self, stop: asyncio.Event) -> None:
        await serve_until(stop, self.start, self.stop)
