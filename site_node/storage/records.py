"""Plain, immutable records the repositories take and return (never ORM objects)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from site_node.storage.errors import UnknownField
from site_node.storage.guard import check_not_sensitive


@dataclass(frozen=True, slots=True)
class CallDetailRecord:
    """One row of ``calls``: what happened to a call at one site (times: epoch seconds)."""

    call_id: str
    site: str
    queue: str | None = None
    skill: str | None = None
    priority: int = 0
    caller_number: str | None = None
    dialled_number: str | None = None
    customer_id: str | None = None
    agent_id: str | None = None
    flow_id: str | None = None
    flow_version: int | None = None
    original_arrival_at: float | None = None
    arrival_at: float | None = None
    ivr_start_at: float | None = None
    ivr_end_at: float | None = None
    queued_at: float | None = None
    offered_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    wrap_up_end_at: float | None = None
    hold_total_s: float = 0.0
    transfers: int = 0
    failovers: int = 0
    callback_requested: bool = False
    end_reason: str | None = None
    resumed_from: str | None = None  # after a failover: the state the call had at the failed site
    first_site: str | None = None  # where the call first arrived (its times below start there)
    failover_gap_s: float = 0.0  # a talking call's time between the move and the resume
    ivr_path: str | None = None  # JSON: the IVR nodes the call left and how the flow ended

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CallDetailRecord:
        """Build from a mapping; sensitive keys and unknown keys are refused."""
        check_not_sensitive(dict(data), "calls")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UnknownField(
                f"calls: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a CDR column",
                fields=unknown,
            )
        return cls(**data)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


CDR_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(CallDetailRecord))


@dataclass(frozen=True, slots=True)
class AgentSessionRecord:
    """One row of ``agent_sessions``: an agent in one state from ``started_at`` to ``ended_at``."""

    site: str
    agent_id: str
    state: str
    started_at: float
    ended_at: float
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class DispositionRecord:
    """A call's disposition (wrap-up code, notes, what the IVR collected and did)."""

    call_id: str
    customer_id: str | None = None
    agent_id: str | None = None
    code: str | None = None
    notes: str | None = None
    collected: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    actions: tuple[str, ...] = ()
    recorded_at: float = 0.0


@dataclass(frozen=True, slots=True)
class CallEventRecord:
    call_id: str
    seq: int
    at: float
    type: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AccountView:
    id: int
    customer_id: str
    kind: str
    masked_number: str
    currency: str


@dataclass(frozen=True, slots=True)
class CustomerView:
    """What a screen pop shows: the customer, phone numbers and masked accounts."""

    id: str
    customer_number: str
    name: str
    segment: str
    home_site: str | None
    language: str
    phones: tuple[str, ...] = ()
    accounts: tuple[AccountView, ...] = ()

    @property
    def is_vip(self) -> bool:
        return self.segment == "vip"


@dataclass(frozen=True, slots=True)
class AgentView:
    id: str
    name: str
    site: str
    team: str | None
    role: str
    active: bool
    skills: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QueueView:
    name: str
    skill: str
    min_level: int
    priority: int
    service_level_s: float
    max_wait_s: float
    max_length: int
    overflow_action: str
    overflow_target: str | None


@dataclass(frozen=True, slots=True)
class FlowVersion:
    flow_id: str
    version: int
    document: dict[str, Any]
    published_at: float
    published_by: str | None = None


@dataclass(frozen=True, slots=True)
class RecordingMeta:
    call_id: str
    path: str
    started_at: float
    format: str = "wav"
    channels: int = 1
    ended_at: float | None = None
    duration_s: float | None = None
    paused_s: float = 0.0
    id: int | None = None
    legal_hold: bool = False


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    phone: str
    requested_at: float
    due_at: float
    customer_id: str | None = None
    call_id: str | None = None
    site: str | None = None
    queue: str | None = None
    state: str = "pending"
    attempts: int = 0
    updated_at: float | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class VoicemailMessage:
    call_id: str
    path: str
    duration_s: float
    created_at: float
    customer_id: str | None = None
    caller_number: str | None = None
    queue: str | None = None
    heard: bool = False
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    at: float
    actor: str
    action: str
    target: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    role: str = ""
    site: str = ""
    hash: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at, "site": self.site, "actor": self.actor, "role": self.role,
                "action": self.action, "target": self.target, "details": dict(self.details), "hash": self.hash}


@dataclass(frozen=True, slots=True)
class KpiAggregate:
    """KPIs of one interval x site x queue x agent cell (``None`` queue/agent = all)."""

    interval_start: float
    interval_s: int
    site: str
    kpis: dict[str, Any]
    queue: str | None = None
    agent_id: str | None = None
    computed_at: float | None = None
