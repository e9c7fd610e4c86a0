"""Central's HTTP API as an OpenAPI 3.1 document (served at ``/openapi.json``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from central.admin.openapi import describe_admin
from central.campaigns.openapi import describe_campaigns
from central.crm.openapi import describe_customers
from central.events.openapi import describe_events
from central.knowledge.openapi import describe_knowledge
from central.qa.openapi import describe_qa
from central.resources.openapi import describe_resources
from central.sop.openapi import describe_sop
from central.workorders.openapi import describe as describe_workorders
from cluster.openapi import TOKEN_ERRORS, ApiDoc, AuditPage, CdrPage

STARTING = {"central.starting": 503, "cluster.not_leader": 503, "etcd.unavailable": 503}
TOKEN = TOKEN_ERRORS


class RouteRequest(BaseModel):
    caller: str = Field(description="the caller's number (E.164 or national)")
    dialled: str = Field(description="the service number dialled")
    request_id: str | None = Field(None, description="makes the request idempotent; becomes the call id")
    customer_token: str | None = Field(None, description="a signed customer token (app callers)")
    edge_token: str | None = Field(None, description="the SIP edge's own token: the caller number is network-provided")


class CallView(BaseModel):
    call_id: str
    site: str
    ws_url: str | None = Field(description="the site's signalling socket (null while the call is moving)")
    state: str = Field(description="routing record state: routed, ivr, queued, offered, connected, ...")
    skill: str
    priority: int
    number_source: str = Field(
        description="asserted: the caller's number is the client's claim (it identifies, never verifies); "
        "network: a carrier delivered it"
    )
    original_arrival_at: float
    failovers: int


class RoutedCall(CallView):
    token: str = Field(description="signed call token for the site's signalling socket (join)")


class TokenRequest(BaseModel):
    token: str


class Reattach(BaseModel):
    agent_id: str
    site: str
    ws_url: str | None
    token: str


class SkillLoad(BaseModel):
    staffed: int
    ready: int
    waiting: int
    expected_wait_s: float | None


class SiteView(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    url: str | None
    ws_url: str | None
    healthy: bool
    draining: bool
    skills: dict[str, SkillLoad]
    live_calls: int


class Sites(BaseModel):
    sites: list[SiteView]


class Wallboard(BaseModel):
    model_config = ConfigDict(extra="allow")


def describe() -> ApiDoc:
    doc = ApiDoc("callcenter central", "1", "Routing, call look-up, reconnect after failover, agent re-attach, sites.")
    doc.op("post", "/v1/calls", "route a new call: the leader picks a site and writes the fenced routing record",
           request=RouteRequest, response=RoutedCall, status=201,
           errors={**STARTING, **TOKEN, "request.bad_field": 400, "request.invalid": 400, "route.bad_number": 400,
                   "route.duplicate": 409, "route.no_site": 503, "route.busy": 503, "route.rate_limited": 429})
    doc.op("get", "/v1/calls", "call records of every site (from, to, site, queue, agent, limit, cursor); "
           "supervisors only (Authorization: Bearer <agent token>)", response=CdrPage,
           errors={**STARTING, **TOKEN, "role.forbidden": 403, "site.unknown": 404, "request.bad_field": 400})
    doc.op("get", "/v1/recordings", "recordings of every site, one entry per call (a failed-over call's parts "
           "in order), with the CDR (from, to, site, queue, agent, customer, outcome, min_duration_s, "
           "max_duration_s, limit); team leaders and up",
           errors={**STARTING, **TOKEN, "role.forbidden": 403, "site.unknown": 404, "recordings.bad_filter": 400})
    doc.op("get", "/v1/audit", "the audit trail of every site, oldest first (from, to, site, actor, action, "
           "target, limit, cursor); administrators and compliance officers; each site audits the read",
           response=AuditPage,
           errors={**STARTING, **TOKEN, "role.forbidden": 403, "site.unknown": 404, "request.bad_field": 400})
    doc.op("get", "/v1/calls/{call_id}", "where a live call is (Authorization: Bearer <the call's token> or a "
           "supervisor's agent token)", response=CallView,
           errors={**STARTING, **TOKEN, "call.bad_id": 400, "call.unknown": 404, "token.wrong_call": 403,
                   "role.forbidden": 403})
    doc.op("post", "/v1/calls/{call_id}/reconnect", "a caller whose socket dropped asks where its call is now",
           request=TokenRequest, response=RoutedCall,
           errors={**STARTING, **TOKEN, "call.bad_id": 400, "call.unknown": 404, "call.ended": 410,
                   "call.moving": 503, "token.wrong_call": 403, "request.bad_field": 400})
    doc.op("post", "/v1/agents/reattach", "an agent whose site failed continues at a live site",
           request=TokenRequest, response=Reattach,
           errors={**STARTING, **TOKEN, "route.no_site": 503, "agent.moving": 503, "request.bad_field": 400})
    doc.op("post", "/v1/internal/sites/{site}/suspect", "a central replica passes on a client's report of a "
           "lost site (X-CC-Suspect-Mac keyed with the cluster secret); the leader probes the site",
           status=202, errors={**STARTING, "role.forbidden": 403})
    doc.op("get", "/v1/sites", "every site's published load", response=Sites, errors=STARTING)
    doc.op("get", "/v1/wallboard", "the wallboard's snapshot (queues, agents, sites)", response=Wallboard)
    doc.op("get", "/v1/wallboard/stream", "the wallboard as server-sent events", content="text/event-stream")
    doc.op("get", "/wallboard", "the wallboard page", content="text/html")
    doc.op("get", "/wallboard/{name}", "the wallboard's assets", content="text/plain")
    doc.op("get", "/v1/supervisor/snapshot", "the supervisor console's view of every live site (or ?site=), "
           "merged: agents, queues (site/queue), unavailable sites; team leaders see their team",
           errors={**STARTING, **TOKEN, "role.forbidden": 403, "site.unknown": 404, "request.bad_field": 400})
    describe_customers(doc)
    describe_workorders(doc)
    describe_campaigns(doc)
    describe_knowledge(doc)
    describe_sop(doc)
    describe_qa(doc)
    describe_resources(doc)
    describe_admin(doc)
    describe_events(doc)
    return doc
