"""A site's HTTP API as an OpenAPI 3.1 document (served at ``/openapi.json``). The call and
agent protocol itself runs on the signalling socket (``/ws``, see docs/signalling.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cluster.openapi import TOKEN_ERRORS, ApiDoc, AuditPage, CdrPage

STARTING = {"site.starting": 503}
TOKEN = TOKEN_ERRORS
SUPERVISOR = {**STARTING, **TOKEN, "role.forbidden": 403}


class LoginRequest(BaseModel):
    agent_id: str
    password: str = Field(max_length=256)


class AgentProfile(BaseModel):
    id: str
    name: str
    skills: dict[str, int]
    role: str


class LoginAnswer(BaseModel):
    token: str = Field(description="signed agent token for the signalling socket and the flows API")
    agent: AgentProfile


class LogoutAnswer(BaseModel):
    agent_id: str
    revoked: bool


class LockedSubject(BaseModel):
    kind: str = Field(description="pin (a customer), login (an agent account) or login_address")
    subject: str
    failures: int
    locked_until: float
    retry_after_s: float


class LockedList(BaseModel):
    locked: list[LockedSubject]


class Unlocked(BaseModel):
    kind: str
    subject: str
    unlocked: bool


class CallStatus(BaseModel):
    state: str
    agent_id: str | None
    queue: str | None
    original_arrival_at: float
    failovers: int


class SiteStatus(BaseModel):
    model_config = ConfigDict(extra="allow")

    site: str
    calls: dict[str, CallStatus]
    skills: dict[str, Any] = Field(default_factory=dict)
    queues: dict[str, Any] = Field(default_factory=dict)
    agents: dict[str, Any] = Field(default_factory=dict)
    live_calls: int = 0


class Route(BaseModel):
    dialled_number: str
    segment: str | None
    flow_id: str


class FlowList(BaseModel):
    flows: dict[str, list[int]]
    routes: list[Route]


class FlowDocument(BaseModel):
    """An IVR flow (JSON, or YAML with ``Content-Type: application/yaml``): see site_node/ivr/flow.py."""

    model_config = ConfigDict(extra="allow")

    id: str
    languages: list[str]
    start: str
    nodes: list[dict[str, Any]]


class Published(BaseModel):
    flow_id: str
    version: int
    stored_version: int


def describe() -> ApiDoc:
    doc = ApiDoc("callcenter site", "1", "Agent login, status, IVR flow publication; calls run on /ws.")
    doc.op("post", "/v1/agents/login", "an agent logs in with a password and gets a token",
           request=LoginRequest, response=LoginAnswer,
           errors={**STARTING, "agent.bad_credentials": 401, "auth.locked": 429, "etcd.unavailable": 503})
    doc.op("post", "/v1/agents/logout", "log out: every token of this login is revoked cluster-wide",
           response=LogoutAnswer, errors={**STARTING, **TOKEN, "etcd.unavailable": 503})
    doc.op("get", "/v1/status", "the site's live calls and load (team leaders, managers, administrators)",
           response=SiteStatus, errors=SUPERVISOR)
    doc.op("get", "/v1/lockouts", "customers (PIN) and agents or addresses (login) locked out now",
           response=LockedList, errors={**SUPERVISOR, "etcd.unavailable": 503})
    doc.op("delete", "/v1/lockouts/{kind}/{subject}", "lift a lockout (audited)", response=Unlocked,
           errors={**SUPERVISOR, "lockout.bad_kind": 400, "request.bad_field": 400, "etcd.unavailable": 503})
    doc.op("get", "/v1/cdrs", "this site's call records (from, to, queue, agent, limit, after_at, after_call, "
           "inclusive); supervisors only", response=CdrPage,
           errors={**STARTING, **TOKEN, "role.forbidden": 403, "request.bad_field": 400})
    doc.op("get", "/v1/audit", "this site's audit trail, oldest first (from, to, actor, action, target, limit, "
           "cursor); administrators and compliance officers; the read is audited", response=AuditPage,
           errors={**STARTING, **TOKEN, "role.forbidden": 403, "request.bad_field": 400})
    doc.op("get", "/v1/flows", "the flow versions and number routes here", response=FlowList, errors=STARTING)
    doc.op("get", "/v1/codes", "the not-ready and wrap-up codes a desktop offers, and the versions of the "
           "administered objects this site has applied (site_node.admin)", errors=STARTING)
    doc.op("post", "/v1/flows", "publish a new flow version cluster-wide (managers and administrators)",
           request=FlowDocument, response=Published, status=201,
           errors={**STARTING, **TOKEN, "ivr.invalid_flow": 400, "role.forbidden": 403, "flow.conflict": 409,
                   "flow.unavailable": 503})
    playback = {**STARTING, **TOKEN, "role.forbidden": 403, "request.bad_field": 400, "storage.not_found": 404,
                "recording.missing": 404, "recording.tampered": 422, "recording.unknown_key": 422}
    doc.op("get", "/v1/recordings/{id}/audio", "a call recording as WAV, decrypted (team leaders, managers, "
           "administrators; every playback audited)", content="audio/wav", errors=playback)
    doc.op("get", "/v1/voicemail/{id}/audio", "a voicemail message as WAV, decrypted (as recordings)",
           content="audio/wav", errors=playback)
    doc.op("get", "/v1/recordings", "this site's finished recordings with their CDR (from, to, queue, agent, "
           "customer, outcome, min_duration_s, max_duration_s, limit); team leaders and up",
           errors={**STARTING, **TOKEN, "role.forbidden": 403, "recordings.bad_filter": 400})
    hold = {**STARTING, **TOKEN, "role.forbidden": 403, "recordings.bad_filter": 400, "storage.not_found": 404}
    doc.op("put", "/v1/recordings/{id}/hold", "place a legal hold: kept past its queue's retention (managers and "
           "administrators; audited)", errors=hold)
    doc.op("delete", "/v1/recordings/{id}/hold", "lift a legal hold (managers and administrators; audited)",
           errors=hold)
    doc.op("get", "/ws", "the signalling socket (WebSocket upgrade; docs/signalling.md)", content="text/plain")
    doc.op("get", "/agent", "the agent desktop page", content="text/html")
    doc.op("get", "/customer", "the customer page", content="text/html")
    doc.op("get", "/supervisor", "the supervisor console page (team leaders, managers)", content="text/html")
    doc.op("get", "/static/{filename}", "the pages' scripts and styles", content="text/plain")
    supervise = {**STARTING, **TOKEN, "role.forbidden": 403}
    doc.op("get", "/v1/supervisor/snapshot", "the agents a supervisor may see (state, reason, time in state, "
           "current call with the caller masked) and the queues (team, queue filters)", errors=supervise)
    doc.op("get", "/v1/supervisor/stream", "the same as server-sent events, pushed on change and at least "
           "once a second", content="text/event-stream", errors=supervise)
    acting = {**supervise, "supervision.not_your_team": 403, "supervision.agent_not_here": 404,
              "supervision.bad_request": 400}
    doc.op("post", "/v1/supervisor/agents/{agent_id}/not_ready", "force an agent not ready with a reason "
           "(audited)", errors=acting)
    doc.op("post", "/v1/supervisor/agents/{agent_id}/message", "a message shown on the agent's desktop "
           "(numbers masked; audited)", errors=acting)
    doc.op("post", "/v1/supervisor/media_token", "a supervisor token for the console's own softphone (joins "
           "/ws as a supervisor for listen, whisper, barge)", errors=supervise)
    return doc
