"""Central's HTTP API (JSON). Every error carries a stable ``error_id``.

    POST /v1/calls                    route a call -> call id, site, signalling URL, token
    GET  /v1/calls/{call_id}          where a call is now and its state (any replica): the call's
                                      own token, or a supervisor's agent token
    POST /v1/calls/{call_id}/reconnect   {token} -> the call's current site and a fresh token
    POST /v1/agents/reattach          {token} -> the site an agent continues at, a fresh token
    GET  /v1/sites                    live sites, their health and load
    POST /v1/internal/sites/{site}/suspect   a replica passes on a client's report of a lost site
                                      (keyed with the cluster secret): the leader probes it

A reconnect or re-attach for a site that is still a member is a report that the site is lost:
the request waits (``central.failover.rejoin_wait_s``) for the site to prove alive or for the
call's move (:mod:`central.failure.rejoin`), then answers; ``503 call.moving`` /
``agent.moving`` with ``retry_after_s`` when the wait runs out.

Route requests go to the leader: a follower forwards them (one hop) and answers look-ups
itself from its hot copy. The leader checks the limits (:mod:`central.routing.limits`): too many
requests from one client address or for one caller number are answered ``429
route.rate_limited``, a flood past ``central.route_capacity_cps`` ``503 route.busy``, both with
``Retry-After``; a refused request routes nothing (no record, no CDR). A follower tells the
leader the client's address in a header keyed with the cluster secret, so a client cannot
pretend to be another address by sending it.

Every number a route request carries is *asserted* by the client (:class:`NumberSource`): it may
identify a customer, never verify one (``_NUMBER_SOURCE``), unless the SIP edge signed the
request (:mod:`central.edge`): then the carrier's network delivered it (``network``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from central.edge import carried_marks, edge_marks
from central.failure.confirmer import DeathConfirmer
from central.failure.rejoin import RETRY_AFTER_S, agent_home_settled, call_settled
from central.routing.limits import TRUNK, LimitKind, RouteLimits, TokenBucket
from central.routing.router import Router
from cluster.callrecords import CallRecord, NumberSource
from cluster.clock import SYSTEM_CLOCK, Clock
from cluster.errors import BadRequest, CallCenterError, NotLeader, TokenError
from cluster.http import read_json
from cluster.leadership import Leadership
from cluster.tls import client_session
from cluster.tokens import TokenSigner, bearer_claims

_CALL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
RECONNECT_GRACE_S = 4 * 3600.0
# A caller number that comes through the public HTTP API is typed by the client (a browser, an
# app): asserted. A carrier trunk's number is NETWORK; that entry point will pass its own.
_NUMBER_SOURCE = NumberSource.ASSERTED
_FROM = {LimitKind.ADDRESS: "from this address", LimitKind.CALLER: "for this caller number"}
_CLIENT = "X-CC-Client"  # a follower forwarding a route request: the client's address ...
_CLIENT_MAC = "X-CC-Client-Mac"  # ... and its keyed digest (only a replica can make one)
_SUSPECT_MAC = "X-CC-Suspect-Mac"  # a replica's report of a lost site, keyed like the above


def _str_field(body: dict[str, Any], name: str, *, required: bool = True, limit: int = 64) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > limit:
        raise BadRequest(
            f"field {name!r} must be a non-empty string of at most {limit} characters",
            error_id="request.bad_field",
            field=name,
        )
    return value


def call_view(record: CallRecord, ws_url: str | None) -> dict[str, Any]:
    return {
        "call_id": record.call_id,
        "site": record.site,
        "ws_url": ws_url,
        "state": record.state,
        "skill": record.skill,
        "priority": record.priority,
        "number_source": record.number_source,
        "original_arrival_at": record.original_arrival_at,
        "failovers": record.failovers,
    }


def _retry_later(status: int, error_id: str, message: str, wait_s: float, **details: Any) -> web.Response:
    """A refusal with ``Retry-After`` (whole seconds, at least 1) and the exact wait in details."""
    error = CallCenterError(message, error_id=error_id, status=status, retry_after_s=round(wait_s, 3), **details)
    retry_after = str(max(1, math.ceil(wait_s)))
    return web.json_response(error.to_dict(), status=status, headers={"Retry-After": retry_after})


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class CentralApi:
    def __init__(
        self,
        router: Router,
        leadership_ref: Any,
        signer: TokenSigner,
        *,
        capacity_cps: float,
        max_body_bytes: int,
        call_ttl_s: float,
        agent_ttl_s: float,
        reattach_grace_s: float = 120.0,
        clock: Clock = SYSTEM_CLOCK,
        ca_file: Path | None = None,
        limits: RouteLimits | None = None,
        rejoin_wait_s: float = 3.0,
    ) -> None:
        self.router = router
        self.confirmer: DeathConfirmer | None = None  # set with the router (central.failover)
        self.rejoin_wait_s = rejoin_wait_s
        self._leadership_ref = leadership_ref  # callable returning the Leadership (set after start)
        self.signer = signer
        self.bucket = TokenBucket(capacity_cps, burst=capacity_cps / 10 + 10)
        self.limits = limits
        self.max_body = max_body_bytes
        self.call_ttl_s = call_ttl_s
        self.agent_ttl_s = agent_ttl_s
        self.reattach_grace_s = reattach_grace_s
        self._clock = clock
        self._client: aiohttp.ClientSession | None = None
        self._ca_file = ca_file  # the CA of the cluster's own https URLs (tls.ca_file)

    def install(self, app: web.Application) -> None:
        app.router.add_post("/v1/calls", self._ready(self.route))
        app.router.add_get("/v1/calls/{call_id}", self._ready(self.lookup))
        app.router.add_post("/v1/calls/{call_id}/reconnect", self._ready(self.reconnect))
        app.router.add_post("/v1/agents/reattach", self._ready(self.reattach))
        app.router.add_get("/v1/sites", self._ready(self.sites))
        app.router.add_post("/v1/internal/sites/{site}/suspect", self._ready(self.suspect))
        app.on_cleanup.append(self._close)

    def _ready(self, handler: Handler) -> Handler:
        """Until etcd answers there is no cluster state to serve: 503, not a crash."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            if self.router is None:
                raise CallCenterError(
                    "central is starting (waiting for etcd); retry shortly", error_id="central.starting", status=503
                )
            return await handler(request)

        return wrapped

    async def _close(self, _: web.Application) -> None:
        if self._client is not None:
            await self._client.close()

    def _leadership(self) -> Leadership | None:
        value: Leadership | None = self._leadership_ref()
        return value

    async def _forward(self, request: web.Request, body: dict[str, Any]) -> web.Response:
        leadership = self._leadership()
        leader = leadership.current_identity() if leadership is not None else None
        if request.headers.get("X-CC-Forwarded") or not leader or not leader.get("url"):
            raise NotLeader("no leader right now; retry in a second", status=503)
        if self._client is None:
            self._client = client_session(self._ca_file, timeout=aiohttp.ClientTimeout(total=5))
        try:
            client = await self._client_address(request)
            data = json.dumps(body).encode()
            headers = {
                "X-CC-Forwarded": "1",
                "Content-Type": "application/json",
                _CLIENT: client,
                _CLIENT_MAC: self._client_mac(client, data),
            }
            async with self._client.post(f"{leader['url']}{request.path}", data=data, headers=headers) as upstream:
                payload = await upstream.read()
                return web.Response(
                    body=payload,
                    status=upstream.status,
                    content_type="application/json",
                    headers={k: v for k, v in upstream.headers.items() if k == "Retry-After"},
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise NotLeader(f"leader {leader.get('name')} unreachable; retry", status=503) from exc

    async def tell_leader(self, site: str) -> None:
        """A follower passes a client's report of a lost ``site`` on to the leader (which probes
        it itself: a report is never taken as evidence)."""
        leadership = self._leadership()
        leader = leadership.current_identity() if leadership is not None else None
        if not leader or not leader.get("url"):
            return
        if self._client is None:
            self._client = client_session(self._ca_file, timeout=aiohttp.ClientTimeout(total=5))
        url = f"{leader['url']}/v1/internal/sites/{site}/suspect"
        try:
            async with self._client.post(url, headers={_SUSPECT_MAC: self._suspect_mac(site)},
                                         timeout=aiohttp.ClientTimeout(total=1.0)) as response:
                await response.read()
        except (aiohttp.ClientError, TimeoutError):
            pass  # the leader hears it from the client's next request, or from the lease

    def _suspect_mac(self, site: str) -> str:
        return self.signer.digest(f"site-suspect:{site}")

    async def suspect(self, request: web.Request) -> web.Response:
        site = request.match_info["site"]
        if not hmac.compare_digest(request.headers.get(_SUSPECT_MAC, ""), self._suspect_mac(site)):
            raise CallCenterError("only a central replica reports a lost site", error_id="role.forbidden", status=403)
        if self.confirmer is not None and site in self.router.state.sites:
            self.confirmer.report(site)
        return web.json_response({"site": site}, status=202)

    def _client_mac(self, address: str, body: bytes) -> str:
        """Keyed over the address and the very body forwarded: a header pair seen once cannot be
        replayed with another request (e.g. to borrow an exempt address)."""
        return self.signer.digest(f"client-address:{address}:{hashlib.sha256(body).hexdigest()}")

    async def _client_address(self, request: web.Request) -> str:
        """The address the request came from; for a request a follower forwarded, the one it
        names, if the follower's keyed digest matches (a client cannot make one)."""
        named, mac = request.headers.get(_CLIENT), request.headers.get(_CLIENT_MAC)
        if named and mac and hmac.compare_digest(mac, self._client_mac(named, await request.read())):
            return named
        return request.remote or "unknown"

    async def _throttled(self, request: web.Request, caller: str, *, trunk: bool) -> web.Response | None:
        """The leader's limits, per client first, then the global capacity: a refusal or None."""
        address = TRUNK if trunk else await self._client_address(request)
        refusal = None if self.limits is None else self.limits.check(address, caller)
        if refusal is not None:
            limit = refusal.limit
            message = f"too many route requests {_FROM[limit]} in a short time; retry after the given seconds"
            return _retry_later(429, "route.rate_limited", message, refusal.retry_after_s, limit=str(limit))
        wait = self.bucket.take()
        if wait > 0:
            return _retry_later(503, "route.busy", "busy: route capacity reached, retry after the given seconds", wait)
        return None

    def _site_ws(self, site: str) -> str | None:
        info = self.router.state.sites.get(site)
        return None if info is None else str(info.get("ws_url"))

    async def route(self, request: web.Request) -> web.Response:
        body = await read_json(request, max_bytes=self.max_body)
        caller = _str_field(body, "caller")
        dialled = _str_field(body, "dialled")
        assert caller is not None and dialled is not None
        from central.routing.classify import validate_number

        validate_number(caller, "caller")
        validate_number(dialled, "dialled")
        segment = home = customer_id = None
        token = body.get("customer_token")
        if token is not None:
            claims = self.signer.verify(str(token), kind="customer")
            customer_id, segment, home = claims.subject, claims.extra.get("segment"), claims.extra.get("home_site")
        marks = edge_marks(self.signer, body)
        if not self.router.leading:
            return await self._forward(request, body)
        refused = await self._throttled(request, caller, trunk=bool(marks))
        if refused is not None:
            return refused
        request_id = _str_field(body, "request_id", required=False)
        if request_id is not None and not _CALL_ID.match(request_id):
            raise BadRequest("request_id: letters, digits, '-' and '_' only", error_id="request.bad_field")
        # The client's request id is its secret: the call id is a keyed digest of it, so a retry
        # finds the same call, and knowing a call's id never lets anyone claim it (finding 4).
        call_id = None if request_id is None else self.signer.digest(request_id)
        routed = await self.router.route(
            caller,
            dialled,
            segment=segment,
            home_site=home,
            customer_id=customer_id,
            call_id=call_id,
            number_source=NumberSource.NETWORK if marks else _NUMBER_SOURCE,
        )
        record = routed.record
        token_out = self.signer.issue("call", record.call_id, site=record.site, ttl_s=self.call_ttl_s, **marks)
        return web.json_response({**call_view(record, routed.site.ws_url), "token": token_out}, status=201)

    def _record(self, call_id: str) -> CallRecord:
        if not _CALL_ID.match(call_id):
            raise BadRequest("malformed call id", error_id="call.bad_id")
        record = self.router.state.calls.get(call_id)
        if record is None:
            raise CallCenterError(f"no live call {call_id}", error_id="call.unknown", status=404)
        return record

    def _may_see(self, request: web.Request, call_id: str) -> None:
        """A call's whereabouts are for its caller (the call's own token) and supervisors."""
        authorization = request.headers.get("Authorization", "")
        if not authorization.startswith("Bearer "):
            raise TokenError("send the call's token or a supervisor's as 'Authorization: Bearer <token>'",
                             error_id="token.malformed")
        claims = self.signer.verify(authorization[7:], leeway_s=RECONNECT_GRACE_S)
        if claims.kind == "call" and claims.subject == call_id:
            return
        if claims.kind == "call":
            raise CallCenterError("token is for another call", error_id="token.wrong_call", status=403)
        bearer_claims(self.signer, authorization, action="records.read",
                      why="only the caller and team leaders, managers and administrators see a call")

    async def lookup(self, request: web.Request) -> web.Response:
        self._may_see(request, request.match_info["call_id"])
        record = self._record(request.match_info["call_id"])
        return web.json_response(call_view(record, self._site_ws(record.site)))

    async def reconnect(self, request: web.Request) -> web.Response:
        body = await read_json(request, max_bytes=self.max_body)
        claims = self.signer.verify(str(_str_field(body, "token", limit=4096)), kind="call", leeway_s=RECONNECT_GRACE_S)
        call_id = request.match_info["call_id"]
        if claims.subject != call_id:
            raise CallCenterError("token is for another call", error_id="token.wrong_call", status=403)
        record = self._record(call_id)
        if record.state == "ended":
            raise CallCenterError("the call has ended", error_id="call.ended", status=410)
        settled = await call_settled(self.router.state, self.confirmer, call_id, self.rejoin_wait_s)
        record = self._record(call_id)
        if record.state == "ended":
            raise CallCenterError("the call has ended", error_id="call.ended", status=410)
        ws = self._site_ws(record.site)
        if ws is None or not settled:
            raise CallCenterError(
                "the call's site is being replaced; retry shortly",
                error_id="call.moving",
                status=503,
                retry_after_s=RETRY_AFTER_S,
            )
        token = self.signer.issue("call", call_id, site=record.site, ttl_s=self.call_ttl_s, **carried_marks(claims))
        return web.json_response({**call_view(record, ws), "token": token})

    async def reattach(self, request: web.Request) -> web.Response:
        """An agent whose site failed continues at a live site: its backup if alive."""
        body = await read_json(request, max_bytes=self.max_body)
        claims = self.signer.verify(
            str(_str_field(body, "token", limit=4096)), kind="agent", leeway_s=self.reattach_grace_s
        )
        # no re-issue outlives the login (plus the grace): renewing forever is not possible
        login_ends = float(claims.extra.get("auth_exp", claims.expires_at)) + self.reattach_grace_s
        now = self._clock.now()
        if login_ends <= now:
            raise TokenError("your login has expired; log in again", error_id="token.expired")
        home = claims.site or ""
        state = self.router.state
        if home in state.sites and not await agent_home_settled(
            state, self.confirmer, claims.subject, home, self.rejoin_wait_s
        ) and home in state.sites:
            raise CallCenterError("your site is not answering and is being checked; retry shortly",
                                  error_id="agent.moving", status=503, retry_after_s=RETRY_AFTER_S)
        sites = state.sites
        extra = dict(claims.extra)
        last = dict(self.router.state.departed.get(home, {}).get("agents", {})).get(claims.subject)
        if last:
            extra["resume"] = last  # the state the agent had when its site failed
        busy = [c.site for c in self.router.state.calls.values() if c.agent_id == claims.subject and c.site in sites]
        if busy:
            target = busy[0]  # the agent's call was moved to another site: follow it
        elif home in sites:
            target = home
        else:
            info = self.router.state.departed.get(home, {})
            backups = [b for b in info.get("backup_sites", claims.extra.get("backup_sites", [])) if b in sites]
            if not backups:
                backups = sorted(sites)
            if not backups:
                raise CallCenterError("no live site to re-attach to", error_id="route.no_site", status=503)
            target = backups[0]
        ttl = min(self.agent_ttl_s, login_ends - now)
        token = self.signer.issue("agent", claims.subject, site=target, ttl_s=ttl, **extra)
        return web.json_response(
            {"agent_id": claims.subject, "site": target, "ws_url": self._site_ws(target), "token": token}
        )

    async def sites(self, _: web.Request) -> web.Response:
        snapshots = self.router.state.snapshots()
        return web.json_response(
            {
                "sites": [
                    {
                        "name": s.name,
                        "url": s.url,
                        "ws_url": s.ws_url,
                        "healthy": s.healthy,
                        "draining": s.draining,
                        "skills": {
                            k: {
                                "staffed": v.staffed,
                                "ready": v.ready,
                                "waiting": v.waiting,
                                "expected_wait_s": v.expected_wait_s,
                            }
                            for k, v in s.skills.items()
                        },
                        "live_calls": len(self.router.state.calls_at(s.name)),
                    }
                    for s in sorted(snapshots, key=lambda s: s.name)
                ]
            }
        )
