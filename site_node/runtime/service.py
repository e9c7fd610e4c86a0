"""The site runtime's composition root: builds the site's services, wires them, and adapts
the signalling layer's :class:`~site_node.signalling.control.CallControl` to them.

Who owns what (see docs/architecture.md):

- :mod:`site_node.calls` — calls: join and media legs (:class:`CallService`), queueing and
  offers (:class:`Dispatcher`), the IVR (:class:`IvrRunner`), call control
  (:class:`CallControlService`), ending (:class:`CallEnding`), routing records in etcd
  (:class:`RecordSync`) and CDRs (:class:`CdrWriter`);
- :mod:`site_node.agents` — the agent desk and its HTTP API;
- :mod:`site_node.messages` — callbacks and voicemail;
- :mod:`site_node.flows` — IVR flows published cluster-wide.

The pure machines (call, agent, ACD, IVR) make every decision; the services perform them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

from aiohttp import web

from cluster.callrecords import SiteCallStore
from cluster.clock import LOOP_SCHEDULER, SYSTEM_CLOCK, Clock, Scheduler
from cluster.config import require_secret
from cluster.errors import CallCenterError, EtcdUnavailable
from cluster.etcd import Etcd
from cluster.keys import Keyspace
from cluster.lockouts import Lockouts
from cluster.logs import log
from cluster.revocation import Revocations
from cluster.roles import Forbidden, may_supervise
from cluster.tasks import TaskOwner
from cluster.tokens import TokenSigner, bearer_claims
from site_node.acd import Acd, Decision, QueueConfig
from site_node.admin import AdminSync
from site_node.agents import AgentDesk, AgentsApi, LiveAgent
from site_node.agents.sessions import SessionWriter
from site_node.audit import AuditApi, AuditTrail
from site_node.calls.cdr import CdrWriter
from site_node.calls.cdr_api import CdrApi
from site_node.calls.control import CallControlService
from site_node.calls.dispatch import Dispatcher
from site_node.calls.ending import CallEnding
from site_node.calls.ivr import IvrRunner
from site_node.calls.live import CallBook
from site_node.calls.records import RecordSync
from site_node.calls.selfservice import CentralResources
from site_node.calls.service import CallService
from site_node.calls.softphone import follow_softphone
from site_node.config import SiteSettings, require_account_key
from site_node.crm import CentralCrm, CentralCustomers, EtcdCentrals
from site_node.deskstats import DeskStatsPush
from site_node.flows.api import FlowsApi, load_flows
from site_node.flows.sync import FlowCluster
from site_node.ivr import load_demo_registry
from site_node.media.codecs import codec_by_name
from site_node.media.legs import Leg
from site_node.media.switch import MediaSwitch
from site_node.messages import Messages
from site_node.metrics import LIVE, CallMetrics, LiveFigures, queue_figures
from site_node.recordings.api import PlaybackApi
from site_node.recordings.retention import RetentionPolicy, RetentionSweep
from site_node.recordings.sealed import require_audio_keys
from site_node.recordings.search_api import RecordingsApi
from site_node.runtime.errors import BadCommand
from site_node.runtime.queues import load_summary, queue_config
from site_node.security import LockoutsApi, LoginChecks, PinChecks
from site_node.signalling.control import Session, TapKind, TransferKind
from site_node.signalling.notify import Notifier
from site_node.signalling.server import SignallingServer
from site_node.storage import Storage, database_url
from site_node.storage.migrate import require_current
from site_node.supervision import SupervisionApi
from site_node.supervision.floor import SiteFloor

_log = logging.getLogger("site_node.runtime")


class SiteRuntime:
    def __init__(
        self, settings: SiteSettings, *, clock: Clock = SYSTEM_CLOCK, scheduler: Scheduler = LOOP_SCHEDULER
    ) -> None:
        self.settings = settings
        self.site = settings.site.name
        self.clock = clock
        self.keys = Keyspace(settings.etcd.prefix)
        self.revocations = Revocations(self.keys, clock, retry_s=settings.site.timers.watch_retry_s)
        self.signer = TokenSigner(
            require_secret(settings.tokens),
            ttl_s=settings.tokens.call_ttl_s,
            clock=clock,
            previous=settings.tokens.previous_secrets,
            denylist=self.revocations,
        )
        self.lockouts: dict[str, Lockouts] = {}
        self.owner = TaskOwner(f"site-{self.site}", scheduler=scheduler)
        self.notify = Notifier(self.owner)
        self.audit = AuditTrail(lambda: self.storage, clock, self.owner)
        self.book = CallBook(self.site)
        self.supervisors: dict[str, Session] = {}
        self.supervisor_legs: dict[str, Leg] = {}
        self.flows = load_demo_registry()
        media = settings.site.media.model_copy(
            update={
                "recordings_dir": str(Path(settings.site.data_dir) / settings.site.media.recordings_dir),
                "prompts_dir": str(Path(settings.site.data_dir) / settings.site.media.prompts_dir),
            }
        )
        self.switch = MediaSwitch(media, audio_keys=require_audio_keys(settings.site), clock=clock)
        self.signalling = SignallingServer(self, self.signer, site=self.site)
        self.retention = RetentionSweep(
            lambda: self.storage.recordings,
            RetentionPolicy(media.retention_days, dict(media.retention_days_per_queue)),
            clock,
            lambda action, target, details: self.audit.record(
                actor="system:retention", action=action, target=target, details=details
            ),
            interval_s=media.retention_sweep_s,
            scheduler=scheduler,
        )
        self.ready = asyncio.Event()
        timers = settings.site.timers
        self.flow_cluster = FlowCluster(
            lambda: self.storage, self.flows, site=self.site, retry_s=timers.watch_retry_s, audit=self.audit
        )
        self.queues: dict[str, Any] = {}  # the ACD's queue configs (administered: site_node.admin)
        self.admin = AdminSync(lambda: self.storage, lambda: self.desk, lambda: self.acd, self._queue_changed,
                               self.audit, site=self.site, retry_s=timers.watch_retry_s)  # fmt: skip
        self.agents_api = AgentsApi(
            site=self.site,
            storage=lambda: self.storage,
            checks=lambda: LoginChecks(account=self.lockouts["login"], address=self.lockouts["login_address"]),
            revoker=self.revocations,
            signer=self.signer,
            clock=clock,
            agent_ttl_s=settings.tokens.agent_ttl_s,
            backup_sites=settings.site.backup_sites,
            audit=self.audit,
        )

    def install(self, app: web.Application) -> None:
        self.signalling.add_routes(app)
        self.agents_api.install(app, self._guarded)
        app.router.add_get("/v1/status", self._guarded(self.http_status))
        self.admin.install(app, self._guarded)
        CdrApi(lambda: self.storage, self.signer).install(app, self._guarded)
        LockoutsApi(
            lockouts=lambda: self.lockouts,
            signer=self.signer,
            audit=self.audit,
            clock=self.clock,
            site=self.site,
        ).install(app, self._guarded)
        AuditApi(lambda: self.storage, self.signer, self.clock).install(app, self._guarded)
        SupervisionApi(
            site=self.site,
            floor=SiteFloor(lambda: self.desk, self.book, lambda: self.acd),
            signer=self.signer,
            clock=self.clock,
            notify=self.notify,
            audit=self.audit,
        ).install(app, self._guarded)
        PlaybackApi(lambda: self.storage, self.signer, self.switch.audio_keys, self.clock, site=self.site).install(
            app, self._guarded
        )
        RecordingsApi(lambda: self.storage, self.signer, self.clock, site=self.site).install(app, self._guarded)
        FlowsApi(
            lambda: self.storage,
            self.flows,
            self.signer,
            self.clock,
            self.flow_cluster,
            prompts_dir=Path(self.switch.config.prompts_dir),
            audit=self.audit,
        ).install(app, self._guarded)

    def _queue_changed(self, config: QueueConfig) -> None:
        """An administered queue change the ACD took: offers (dispatcher) and metrics follow it."""
        self.queues[config.name] = config
        self.call_metrics.set_threshold(config.name, config.sl_threshold_s)

    def _guarded(self, handler: Any) -> Any:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            self._check_ready()
            return await handler(request)  # type: ignore[no-any-return]

        return wrapped

    def _check_ready(self) -> None:
        if not self.ready.is_set():
            raise CallCenterError("site is starting; retry shortly", error_id="site.starting", status=503)

    # ---- wiring ------------------------------------------------------------------------------
    async def start(self, etcd: Etcd) -> None:
        cfg = self.settings.site
        url = database_url(cfg.database_url, data_dir=cfg.data_dir, site=self.site)
        if not cfg.migrate_on_start:
            await require_current(url)  # migrations are an operator's step: refuse a stale schema
        self.storage = await Storage.open(
            url,
            account_salt=require_account_key(cfg),
            site=self.site,
            app_role=cfg.database_app_role,
            migrate=cfg.migrate_on_start,
        )
        await load_flows(self.storage, self.flows, now=self.clock.now())
        keys = self.keys
        self.centrals = EtcdCentrals(etcd, keys, self.clock)
        self.revocations.connect(etcd)
        self.lockouts = {
            kind: Lockouts(etcd, keys, kind, getattr(cfg.lockouts, kind), self.clock)
            for kind in ("pin", "login", "login_address")
        }
        self.flow_cluster.connect(etcd, keys)
        with contextlib.suppress(EtcdUnavailable):  # new calls start with the cluster's latest flows
            await self.flow_cluster.sync()
        queues = self.queues = {q.name: queue_config(q) for q in await self.storage.directory.queues()}
        self._wire(
            SiteCallStore(
                etcd,
                keys,
                self.site,
                retry_for_s=cfg.timers.record_retry_for_s,
                retry_sleep_s=cfg.timers.record_retry_sleep_s,
            ),
            queues,
        )
        self.admin.connect(etcd, keys)
        with contextlib.suppress(EtcdUnavailable):  # the cluster's agents, queues and codes before any call
            await self.admin.seed(now=self.clock.now())
            await self.admin.sync()
        await self.switch.start()
        for name in cfg.media.codecs:  # music on hold is encoded once, before any call
            await asyncio.to_thread(self.switch.music.get, codec_by_name(name))
        self.owner.spawn(self.records.watch(etcd, keys), "watch-moves")
        self.owner.spawn(self.revocations.run(), "revocations")
        self.owner.spawn(self.flow_cluster.run(), "flow-sync")
        self.owner.spawn(self.admin.run(), "admin-sync")
        desk_stats = DeskStatsPush(
            agents=lambda: self.desk.agents, acd=lambda: self.acd, notify=self.notify, clock=self.clock
        )
        self.owner.spawn(desk_stats.run(), "desk-stats")  # queue figures on every desk (issue 18)
        self.retention.start()
        self.agent_sessions.start()
        self.ready.set()
        log(_log, logging.INFO, "site runtime ready", site=self.site, queues=len(queues))

    def _wire(self, store: SiteCallStore, queues: dict[str, Any]) -> None:
        """Build every service with what it needs; the root itself answers the desk's and the
        records' call-backs (the two places where the dependency graph turns back)."""
        cfg, timers, clock, owner, book = (
            self.settings.site,
            self.settings.site.timers,
            self.clock,
            self.owner,
            self.book,
        )
        self.acd = Acd(queues.values())
        self.agent_sessions = SessionWriter(site=self.site, store=self.storage.agent_sessions, owner=owner, clock=clock)
        self.desk = AgentDesk(
            site=self.site,
            clock=clock,
            owner=owner,
            acd=self.acd,
            notify=self.notify,
            legs=self.switch,
            config=cfg.acd,
            gone_grace_s=timers.gone_grace_s,
            hooks=self,
            audit=self.audit,
            sessions=self.agent_sessions,
        )
        self.call_metrics = CallMetrics({name: q.sl_threshold_s for name, q in queues.items()})
        # customers and their contact history live at central (issue 17): the replicas from etcd
        self.crm = CentralCrm(self.centrals, self.signer, clock, site=self.site, ca_file=self.settings.tls.ca_file)
        self.customers = CentralCustomers(self.crm)  # the IVR's identification, the PIN check, the screen pop
        self.cdr = CdrWriter(
            storage=self.storage, owner=owner, clock=clock, acd=self.acd, book=book, metrics=self.call_metrics,
            history=self.crm,
        )  # fmt: skip
        LIVE.attach(self.site, self.live_figures)
        self.records = RecordSync(
            site=self.site,
            store=store,
            owner=owner,
            clock=clock,
            book=book,
            moved=self,
            cdr=self.cdr,
            join_timeout_s=cfg.join_timeout_s,
            watch_retry_s=timers.watch_retry_s,
        )
        self.ending = CallEnding(
            book=book,
            desk=self.desk,
            acd=self.acd,
            records=self.records,
            cdr=self.cdr,
            legs=self.switch,
            notify=self.notify,
            owner=owner,
            clock=clock,
        )
        self.messages = Messages(
            site=self.site,
            storage=self.storage,
            prompts=self.switch,
            clock=clock,
            owner=owner,
            book=book,
            ender=self.ending,
        )
        self.dispatcher = Dispatcher(
            book=book,
            desk=self.desk,
            acd=self.acd,
            queues=queues,
            records=self.records,
            leaving=self.messages,
            notify=self.notify,
            owner=owner,
            clock=clock,
            customers=self.customers,
            ring_timeout_s=cfg.acd.ring_timeout_s,
            reattach_wait_s=timers.reattach_wait_s,
            audit=self.audit,
        )
        self.ivr = IvrRunner(
            flows=self.flows,
            prompts=self.switch,
            customers=self.customers,
            pins=PinChecks(
                pins=self.customers,
                lockouts=self.lockouts["pin"],
                audit=self.audit,
                clock=clock,
                site=self.site,
            ),
            callbacks=self.messages,
            queueing=self.dispatcher,
            leaving=self.messages,
            ender=self.ending,
            desk=self.desk,
            records=self.records,
            notify=self.notify,
            clock=clock,
            owner=owner,
            external_queue=cfg.ivr.external_transfer_queue,
            transfer_wait_s=timers.transfer_wait_s,
            resources=CentralResources(self.crm, deadline_s=1.5),  # self-service (IVR fetch nodes)
        )
        self.control = CallControlService(
            book=book,
            desk=self.desk,
            queueing=self.dispatcher,
            ender=self.ending,
            run_ivr=self.ivr.run,
            records=self.records,
            flows=self.flows,
            notify=self.notify,
            acd=self.acd,
            owner=owner,
            clock=clock,
            consult_ring_s=timers.consult_ring_s,
        )
        self.calls = CallService(
            site=self.site,
            book=book,
            records=self.records,
            switch=self.switch,
            codec=codec_by_name(cfg.media.codecs[0]),
            resumes=self.dispatcher,
            run_ivr=self.ivr.run,
            ender=self.ending,
            owner=owner,
            clock=clock,
            gone_grace_s=timers.gone_grace_s,
            leaving=self.messages,
        )

    async def stop(self) -> None:
        LIVE.detach(self.site)
        await self.signalling.stop()
        if self.ready.is_set():
            for lc in self.book.values():
                if lc.call.end_reason is None:
                    # The site is leaving the cluster (a clean stop, e.g. a rolling upgrade):
                    # central moves this call on, so its outcome is recorded there, not here.
                    lc.outcome_elsewhere = True
                with contextlib.suppress(Exception):
                    await self.cdr.write(lc)
            await self.agent_sessions.stop()  # open sessions end now
        await self.retention.stop()
        await self.owner.stop()
        if self.ready.is_set():
            await self.crm.close()
        await self.switch.stop()
        if self.ready.is_set():
            await self.storage.close()

    # ---- call-backs the services were given (DeskHooks, MovedCalls) ---------------------------
    def decide(self, decisions: list[Decision]) -> None:
        self.dispatcher.decide(decisions)

    def ring_timed_out(self, live: LiveAgent, call_id: str) -> None:
        self.dispatcher.ring_timed_out(live, call_id)

    def wrap_up_finished(self, live: LiveAgent) -> None:
        self.cdr.wrap_up_finished(live.agent_id)

    def wrap_up_coded(self, live: LiveAgent, code: str, notes: str) -> None:
        self.cdr.wrap_up_coded(live.agent_id, code, notes)

    def agent_gone(self, live: LiveAgent) -> None:
        self.control.agent_gone(live)

    def leg_replaced(self, live: LiveAgent, old_leg_id: str) -> None:
        assert live.leg is not None
        for call_id in live.agent.call_ids:
            lc = self.book.get(call_id)
            if lc is not None and call_id != live.agent.ringing_call_id:
                follow_softphone(lc, live.agent_id, old_leg_id, live.leg.leg_id)

    def drop_moved(self, call_id: str, to_site: str | None) -> None:
        self.ending.drop_moved(call_id, to_site)

    # ---- CallControl -------------------------------------------------------------------------
    async def join(self, session: Session) -> dict[str, Any]:
        self._check_ready()
        if session.kind == "call":
            return await self.calls.join(session)
        if session.kind == "agent":
            return self.desk.join(session)
        self.supervisors[session.subject] = session
        return {"supervisor": session.subject}

    async def offer(self, session: Session, sdp: str) -> str:
        if session.kind == "call":
            return await self.calls.offer(session, sdp)
        leg_id = f"{session.kind}:{session.subject}:{session.session_id}"
        if session.kind == "agent":
            self.desk.live_agent(session)  # attached first
        leg, answer = await self.switch.answer_webrtc(leg_id, sdp)
        if session.kind == "agent":
            self.desk.attach_leg(session, leg)
        else:
            self.supervisor_legs[session.subject] = leg
        return answer

    async def rtp_offer(self, session: Session, sdp: str) -> str:
        return await self.calls.rtp_offer(session, sdp)

    async def no_media(self, session: Session) -> None:
        if session.kind != "call":
            raise BadCommand("only a caller can join without media", error_id="signalling.forbidden")
        self.calls.no_media(session)

    async def hangup(self, session: Session, reason: str) -> None:
        if session.kind == "call":
            self.calls.hang_up(session)
        elif session.kind == "agent":
            self.control.hang_up(self.desk.live_agent(session))

    async def hold(self, session: Session) -> None:
        self.control.hold(self.desk.live_agent(session))

    async def resume(self, session: Session) -> None:
        self.control.resume(self.desk.live_agent(session))

    async def transfer(self, session: Session, target: str, target_kind: TransferKind) -> None:
        self.control.transfer(self.desk.live_agent(session), target, target_kind)

    async def consult(self, session: Session, target: str) -> None:
        self.control.consult(self.desk.live_agent(session), target)

    async def consult_complete(self, session: Session) -> None:
        self.control.consult_complete(self.desk.live_agent(session))

    async def consult_cancel(self, session: Session) -> None:
        self.control.consult_cancel(self.desk.live_agent(session))

    async def conference(self, session: Session) -> None:
        self.control.conference(self.desk.live_agent(session))

    async def digits(self, session: Session, digits: str) -> None:
        if session.kind != "call":
            raise BadCommand("only the caller's digits go to the IVR", error_id="signalling.forbidden")
        self.calls.digits(session, digits)

    async def supervise(self, session: Session, call_id: str, mode: TapKind) -> None:
        """Listen, whisper or barge: a team leader on their team's calls, a manager on any
        (cluster.roles); every tap is audited and, where configured, announced to the agent."""
        lc = self.book.get(call_id)
        agent = self.desk.get(lc.call.agent_id) if lc is not None else None
        if not may_supervise(session.claims.extra, agent.team if agent is not None else None):
            raise Forbidden(
                "team leaders supervise their own team's calls, managers any call", action="calls.supervise_team"
            )
        leg = self.supervisor_legs.get(session.subject)
        if leg is None:
            live = self.desk.get(session.subject)
            leg = live.leg if live is not None else None
        self.control.tap(leg, call_id, mode)
        target_agent = agent.agent_id if agent is not None else None
        self.audit.spawn(
            actor=session.subject,
            role=str(session.claims.extra.get("role", "")),
            action=f"tap_{mode}",
            target=call_id,
            details={"agent_id": target_agent},
        )
        if agent is not None and self.settings.site.announce_taps:
            self.notify.send(agent.session, "supervised", {"call_id": call_id, "mode": mode, "by": session.subject})

    async def answer_call(self, session: Session, call_id: str) -> None:
        self.dispatcher.answer(self.desk.get(session.subject), call_id)

    async def agent_command(self, session: Session, command: str, fields: dict[str, Any]) -> None:
        if command == "agent_state":
            self.desk.command_state(session, fields["state"], fields.get("reason"))
            if fields["state"] == "logout":  # the login ends: its tokens are revoked everywhere
                self.owner.spawn(self.agents_api.revoke(session.claims, reason="logout"), "revoke-logout")
        elif command == "wrap_up":
            self.desk.wrap_up(session, fields["code"], fields.get("notes") or "", bool(fields.get("end", True)))
        elif command == "decline":
            self.dispatcher.decline(self.desk.live_agent(session), fields["call_id"])
        elif command == "callback":
            self.messages.customer_callback(session)
        else:
            raise BadCommand(f"unknown command {command!r}")

    async def leave(self, session: Session) -> None:
        if not self.ready.is_set():
            return
        if session.kind == "call":
            self.calls.leave(session)
        elif session.kind == "agent":
            self.desk.leave(session)
        else:
            self.supervisors.pop(session.subject, None)
            leg = self.supervisor_legs.pop(session.subject, None)
            if leg is not None:
                self.owner.spawn(self.switch.close_leg(leg.leg_id, "left"), "close-supervisor-leg")

    # ---- status ------------------------------------------------------------------------------
    def live_figures(self) -> LiveFigures:
        """Queues and agents now, for the metrics gauges (site_node.metrics)."""
        if not self.ready.is_set():
            return LiveFigures()
        states = Counter(live.agent.state.value for live in self.desk.agents.values())
        return LiveFigures(queue_figures(self.acd.snapshot(self.clock.now())), states)

    def load_summary(self) -> dict[str, Any]:
        if not self.ready.is_set():
            return {}
        return load_summary(self.acd, self.desk, len(self.book), self.clock.now())

    async def http_status(self, request: web.Request) -> web.Response:
        """Live calls and agents: for team leaders, managers and administrators only."""
        bearer_claims(
            self.signer,
            request.headers.get("Authorization", ""),
            action="status.read",
            why="only team leaders, managers and administrators see a site's live status",
        )
        calls = {
            cid: {
                "state": lc.call.state.value,
                "agent_id": lc.call.agent_id,
                "queue": lc.call.queue,
                "original_arrival_at": lc.call.original_arrival_at,
                "failovers": lc.call.failovers,
            }
            for cid, lc in self.book.live.items()
        }
        return web.json_response({"site": self.site, "calls": calls, **self.load_summary()}, dumps=_dumps)


def _dumps(body: Any) -> str:
    return json.dumps(body, default=str)
