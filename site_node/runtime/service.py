"""The site runtime: implements the signalling layer's :class:`CallControl` with the pure
machines (call, agent, ACD, IVR) driving the media switch, storage and the etcd records.

Owns: storage, the ACD, the flow registry, the media switch, the signalling server, and the
tasks that watch for calls moved away by central, tick the ACD and publish the load summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from cluster.callrecords import CallRecord, OwnershipLost, SiteCallStore
from cluster.clock import SYSTEM_CLOCK, Clock
from cluster.config import Settings
from cluster.errors import CallCenterError, EtcdUnavailable
from cluster.etcd import Etcd, EventType, KeyValue
from cluster.keys import Keyspace
from cluster.logs import log
from cluster.tokens import TokenSigner
from site_node.acd import Acd, LimitAction, QueueConfig
from site_node.agent import Decline, SetNotReady, agents_by_state
from site_node.call import Call, CallState, End, EndReason
from site_node.ivr import load_demo_registry
from site_node.media.codecs import codec_by_name
from site_node.media.switch import MediaSwitch
from site_node.runtime.agents import AgentsMixin
from site_node.runtime.calls import CallsMixin
from site_node.runtime.control import ControlMixin
from site_node.runtime.errors import BadCommand
from site_node.runtime.flow_sync import FlowCluster
from site_node.runtime.flows_api import FlowsApi, load_flows
from site_node.runtime.messages import MessagesMixin
from site_node.runtime.tasks import Owner
from site_node.signalling.control import Session, TapKind, TransferKind
from site_node.signalling.server import SignallingServer
from site_node.storage import Storage, database_url

_log = logging.getLogger("site_node.runtime")
GONE_GRACE_S = 5.0
NO_WAIT_S = 3600.0  # expected wait published for a skill nobody is staffed for


def queue_config(view: Any) -> QueueConfig:
    action = {"voicemail": LimitAction.VOICEMAIL, "callback": LimitAction.CALLBACK}.get(
        view.overflow_action, LimitAction.OVERFLOW if view.overflow_target else LimitAction.VOICEMAIL
    )
    return QueueConfig(
        name=view.name,
        skill=view.skill,
        min_level=view.min_level,
        sl_threshold_s=view.service_level_s,
        max_wait_s=view.max_wait_s or None,
        max_wait_action=action,
        max_wait_target=view.overflow_target if action is LimitAction.OVERFLOW else None,
        max_length=view.max_length or None,
        max_length_action=LimitAction.CALLBACK,
    )


class SiteRuntime(AgentsMixin, CallsMixin, ControlMixin, MessagesMixin):
    def __init__(self, settings: Settings, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.settings = settings
        self.site = settings.site.name
        self.clock = clock
        self.signer = TokenSigner(settings.tokens.secret, ttl_s=settings.tokens.call_ttl_s, clock=clock)
        self.owner = Owner(f"site-{self.site}")
        self.calls = {}
        self.wrapping = {}
        self.agents = {}
        self.supervisors = {}
        self.supervisor_legs = {}
        self.queue_configs = {}
        self.flows = load_demo_registry()
        media = settings.site.media.model_copy(
            update={"recordings_dir": str(Path(settings.site.data_dir) / settings.site.media.recordings_dir)}
        )
        self.switch = MediaSwitch(media, clock=clock)
        self.signalling = SignallingServer(self, self.signer, site=self.site)
        self.ready = asyncio.Event()
        self._etcd: Etcd | None = None
        self._unclaimed: dict[str, tuple[float, CallRecord]] = {}
        self.flow_cluster = FlowCluster(lambda: self.storage, self.flows, site=self.site)

    def install(self, app: web.Application) -> None:
        self.signalling.add_routes(app)
        app.router.add_post("/v1/agents/login", self._guarded(self.http_login))
        app.router.add_get("/v1/status", self._guarded(self.http_status))
        FlowsApi(lambda: self.storage, self.flows, self.signer, self.clock, self.flow_cluster).install(
            app, self._guarded
        )

    def _guarded(self, handler: Any) -> Any:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            if not self.ready.is_set():
                raise CallCenterError("site is starting; retry shortly", error_id="site.starting", status=503)
            return await handler(request)  # type: ignore[no-any-return]

        return wrapped

    async def start(self, etcd: Etcd) -> None:
        self._etcd = etcd
        url = database_url(self.settings.site.database_url, data_dir=self.settings.site.data_dir, site=self.site)
        self.storage = await Storage.open(url)
        await load_flows(self.storage, self.flows, now=self.now())
        keys = Keyspace(self.settings.etcd.prefix)
        self.flow_cluster.connect(etcd, keys)
        with contextlib.suppress(EtcdUnavailable):  # new calls start with the cluster's latest flows
            await self.flow_cluster.sync()
        queues = await self.storage.directory.queues()
        self.queue_configs = {q.name: queue_config(q) for q in queues}
        self.acd = Acd(self.queue_configs.values())
        self.store = SiteCallStore(etcd, keys, self.site)
        await self.switch.start()
        for name in self.settings.site.media.codecs:  # music on hold is encoded once, before any call
            await asyncio.to_thread(self.switch.music.get, codec_by_name(name))
        self.owner.spawn(self._watch_moves(keys), "watch-moves")
        self.owner.spawn(self.flow_cluster.run(), "flow-sync")
        self.owner.spawn(self._tick(), "acd-tick")
        self.ready.set()
        log(_log, logging.INFO, "site runtime ready", site=self.site, queues=len(self.queue_configs))

    async def stop(self) -> None:
        await self.signalling.stop()
        for lc in list(self.calls.values()):
            with contextlib.suppress(Exception):
                await self.write_cdr(lc)
        await self.owner.stop()
        await self.switch.stop()
        if self.ready.is_set():
            await self.storage.close()

    # ---- CallControl -------------------------------------------------------------------------
    async def join(self, session: Session) -> dict[str, Any]:
        if not self.ready.is_set():
            raise CallCenterError("site is starting; retry shortly", error_id="site.starting", status=503)
        if session.kind == "call":
            return await self.customer_join(session)
        if session.kind == "agent":
            return self.agent_join(session)
        self.supervisors[session.subject] = session
        return {"supervisor": session.subject}

    async def offer(self, session: Session, sdp: str) -> str:
        if session.kind == "call":
            return await self.customer_offer(session, sdp)
        leg_id = f"{session.kind}:{session.subject}:{session.session_id}"
        leg, answer = await self.switch.answer_webrtc(leg_id, sdp)
        if session.kind == "agent":
            live = self.live_agent(session)
            old, live.leg = live.leg, leg
            if old is not None:
                self.owner.spawn(self.switch.close_leg(old.leg_id, "replaced"), "close-old-agent-leg")
            self.push_agent_state(live)
        else:
            self.supervisor_legs[session.subject] = leg
        return answer

    async def no_media(self, session: Session) -> None:
        if session.kind != "call":
            raise BadCommand("only a caller can join without media", error_id="signalling.forbidden")
        await self.customer_no_media(session)

    async def hangup(self, session: Session, reason: str) -> None:
        if session.kind == "call":
            lc = self.live_call(session.subject)
            self.end_call(lc, by="customer")
        elif session.kind == "agent":
            self.agent_hangup(session)

    async def hold(self, session: Session) -> None:
        self.hold_call(session)

    async def resume(self, session: Session) -> None:
        self.resume_call(session)

    async def transfer(self, session: Session, target: str, target_kind: TransferKind) -> None:
        self.transfer_call(session, target, target_kind)

    async def consult(self, session: Session, target: str) -> None:
        self.start_consult(session, target)

    async def consult_complete(self, session: Session) -> None:
        self.complete_consult(session)

    async def consult_cancel(self, session: Session) -> None:
        self.cancel_consult(session)

    async def conference(self, session: Session) -> None:
        self.make_conference(session)

    async def digits(self, session: Session, digits: str) -> None:
        if session.kind != "call":
            raise BadCommand("only the caller's digits go to the IVR", error_id="signalling.forbidden")
        lc = self.live_call(session.subject)
        if lc.leg is not None:
            lc.leg.deliver_digit(digits, "signalling")

    async def supervise(self, session: Session, call_id: str, mode: TapKind) -> None:
        self.tap_call(session, call_id, mode)

    async def answer_call(self, session: Session, call_id: str) -> None:
        self.accept_call(session, call_id)

    async def agent_command(self, session: Session, command: str, fields: dict[str, Any]) -> None:
        if command == "agent_state":
            self.agent_state(session, fields["state"], fields.get("reason"))
        elif command == "wrap_up":
            self.wrap_up(session, fields["code"], fields.get("notes") or "", bool(fields.get("end", True)))
        elif command == "decline":
            self.decline(session, fields["call_id"])
        elif command == "callback":
            self.customer_callback(session)
        else:
            raise BadCommand(f"unknown command {command!r}")

    async def leave(self, session: Session) -> None:
        if session.kind == "call":
            lc = self.calls.get(session.subject)
            if lc is not None and lc.session is session:
                lc.session = None
                self.owner.timer(f"call-gone:{lc.call_id}", GONE_GRACE_S, lambda: self._customer_gone(lc.call_id))
        elif session.kind == "agent":
            live = self.agents.get(session.subject)
            if live is not None and live.session is session:
                live.session = None
                self.owner.timer(f"agent-gone:{live.agent_id}", GONE_GRACE_S, lambda: self._agent_gone(live.agent_id))
        else:
            self.supervisors.pop(session.subject, None)
            leg = self.supervisor_legs.pop(session.subject, None)
            if leg is not None:
                self.owner.spawn(self.switch.close_leg(leg.leg_id, "left"), "close-supervisor-leg")

    def _customer_gone(self, call_id: str) -> None:
        lc = self.calls.get(call_id)
        if lc is not None and lc.session is None:
            self.end_call(lc, by="customer")

    def _agent_gone(self, agent_id: str) -> None:
        live = self.agents.get(agent_id)
        if live is None or live.session is not None:
            return
        if live.agent.state.value not in ("logged_out", "not_ready"):
            self._apply(live, SetNotReady("disconnected"))  # offered nothing more, whatever follows
            self.acd.on_agent_unavailable(agent_id)
        for call_id in list(live.agent.call_ids):
            lc = self.calls.get(call_id)
            if lc is None:
                continue
            if live.agent.ringing_call_id == call_id:  # it only rang here: back in the queue, in place
                self._apply(live, Decline(call_id))
                self.acd.release(live.agent_id)
                self._requeue_after_offer(lc, "agent_gone")
            elif lc.call.state is CallState.CONNECTED and lc.call.agent_id == agent_id and lc.call.queue:
                self.requeue_from_agent(lc, live)  # the caller waits for another agent, keeping its data
            else:
                self.end_call(lc, by="agent")
        with contextlib.suppress(CallCenterError):
            if live.agent.state.value == "after_call_work":
                self.end_wrap_up(live)
            self.logout(live)

    def _decide_arrival(self, lc: Any, queue: str) -> None:
        self._decide(
            self.acd.on_call_arrival(
                lc.call_id,
                queue,
                self.now(),
                priority=lc.call.priority,
                original_arrival_at=lc.call.original_arrival_at,
            )
        )

    # ---- background work ---------------------------------------------------------------------
    async def _tick(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(0.25)
            ticks += 1
            try:
                self._decide(self.acd.tick(self.now()))
                if ticks % 4 == 0:
                    await self._reap_unclaimed()
                if ticks % 8 == 0:
                    self._announce_positions()
            except Exception:  # one bad tick must not stop the timers of every other call
                log(_log, logging.ERROR, "site tick failed", exc_info=True)

    def _announce_positions(self) -> None:
        """Tell waiting callers their place and expected wait (every 2 s, when it changed)."""
        for lc in self.calls.values():
            if lc.call.state is not CallState.QUEUED or lc.session is None or lc.call.queue is None:
                continue
            position = self.acd.position(lc.call_id)
            ewt = self.acd.expected_wait(lc.call.queue, call_id=lc.call_id)
            update = (position, None if ewt is None else round(ewt))
            if position is not None and update != lc.announced:
                lc.announced = update
                self.send(
                    lc.session, "queued", {"queue": lc.call.queue, "position": position, "expected_wait_s": update[1]}
                )

    async def _watch_moves(self, keys: Keyspace) -> None:
        """Watch the routing records: let go of calls moved elsewhere; note calls routed here
        whose caller has not joined yet (reaped after ``site.join_timeout_s``)."""
        assert self._etcd is not None
        while True:
            try:
                kvs, revision = await self._etcd.get_prefix(keys.calls)
                for kv in kvs:
                    self._seen(CallRecord.from_kv(kv))
                async for event in self._etcd.watch_prefix(keys.calls, start_revision=revision + 1):
                    if event.type is EventType.DELETE:
                        self._unclaimed.pop(Keyspace.leaf(event.key), None)
                        continue
                    kv = KeyValue(event.key, event.value, event.create_revision, event.mod_revision, 0, 0)
                    self._seen(CallRecord.from_kv(kv))
            except EtcdUnavailable as exc:
                log(_log, logging.WARNING, "call watch interrupted", reason=str(exc))
                await asyncio.sleep(0.5)

    def _seen(self, record: CallRecord) -> None:
        if record.state == "ended":  # a tombstone: the call ended at the site that lost it
            self._unclaimed.pop(record.call_id, None)
            if record.site == self.site and record.call_id not in self.calls:
                self.owner.spawn(self.store.remove_ended(record), f"clear-{record.call_id}")
            return
        if record.site != self.site:
            self._unclaimed.pop(record.call_id, None)
            if record.call_id in self.calls:
                self.drop_moved(record.call_id, record)
        elif record.call_id not in self.calls:
            first = self._unclaimed.get(record.call_id, (self.clock.monotonic(), record))[0]
            self._unclaimed[record.call_id] = (first, record)

    async def _reap_unclaimed(self) -> None:
        """A caller routed here who never joined (or never came back after a failover) still
        gets a CDR, and the routing record is removed: no call is silently lost."""
        limit = self.settings.site.join_timeout_s
        now = self.clock.monotonic()
        for call_id, (first, record) in list(self._unclaimed.items()):
            if call_id in self.calls:
                self._unclaimed.pop(call_id, None)
            elif now - first >= limit:
                self._unclaimed.pop(call_id, None)
                call = Call(
                    call_id,
                    site=self.site,
                    caller_number=record.caller,
                    dialled_number=record.dialled,
                    now=self.now(),
                    priority=record.priority,
                    original_arrival_at=record.original_arrival_at,
                )
                call.failovers = record.failovers
                # moved here by a failover and the caller never came back: the failover lost it
                reason = EndReason.ERROR if record.failovers else EndReason.ABANDONED_IN_IVR
                call.apply(End(reason), self.now())
                try:
                    await self.store.finish(record)
                except OwnershipLost:
                    continue
                except EtcdUnavailable:
                    self._unclaimed[call_id] = (first, record)  # try again at the next tick
                    continue
                await self.storage.calls.upsert_call(call.to_cdr())
                log(_log, logging.WARNING, "caller never joined; call closed", call_id=call_id)

    def load_summary(self) -> dict[str, Any]:
        if not self.ready.is_set():
            return {}
        snap = self.acd.snapshot(self.now())
        skills: dict[str, dict[str, Any]] = {}
        for queue in snap["queues"].values():
            load = skills.setdefault(queue["skill"], {"staffed": 0, "ready": 0, "waiting": 0, "expected_wait_s": 0.0})
            load["staffed"] = max(load["staffed"], queue["staffed"])
            load["ready"] = max(load["ready"], queue["ready"])
            load["waiting"] += queue["waiting"]
            ewt = queue["expected_wait_s"]
            load["expected_wait_s"] = max(load["expected_wait_s"], NO_WAIT_S if ewt is None else round(ewt, 1))
        return {
            "skills": skills,
            "queues": {
                name: {
                    k: q[k]
                    for k in (
                        "skill",
                        "waiting",
                        "longest_wait_s",
                        "staffed",
                        "ready",
                        "answered",
                        "service_level",
                        "sl_threshold_s",
                    )
                }
                for name, q in snap["queues"].items()
            },
            "agents_by_state": agents_by_state(live.agent for live in self.agents.values()),
            "agents": self.agents_summary(),
            "live_calls": len(self.calls),
        }

    async def http_status(self, _: web.Request) -> web.Response:
        return web.json_response(
            json.loads(
                json.dumps(
                    {
                        "site": self.site,
                        "calls": {
                            cid: {
                                "state": lc.call.state.value,
                                "agent_id": lc.call.agent_id,
                                "queue": lc.call.queue,
                                "original_arrival_at": lc.call.original_arrival_at,
                                "failovers": lc.call.failovers,
                            }
                            for cid, lc in self.calls.items()
                        },
                        **self.load_summary(),
                    },
                    default=str,
                )
            )
        )
