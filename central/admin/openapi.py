"""The administration routes in central's OpenAPI document."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from cluster.openapi import TOKEN_ERRORS, ApiDoc

_ERRORS = {**TOKEN_ERRORS, "role.forbidden": 403, "admin.unavailable": 503, "request.invalid": 400,
           "request.content_type": 415}  # fmt: skip
_CHANGE_ERRORS = {**_ERRORS, "admin.invalid": 400, "admin.not_found": 404, "admin.version_conflict": 409}


class AdminConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    agents: dict[str, dict[str, object]] = Field(description="agent id -> version, skills, team, active")
    queues: dict[str, dict[str, object]] = Field(description="queue -> version, skill, min_level, sl_threshold_s")
    skills: dict[str, dict[str, object]] = Field(description="the skills there are")
    codes: dict[str, dict[str, object]] = Field(description="not_ready / wrap_up -> version, codes")


class AgentChange(BaseModel):
    version: int = Field(description="the version you read: a later change by someone else is a 409")
    skills: dict[str, int] | None = Field(None, description="skill -> level 1-10 (replaces them all)")
    team: str | None = None
    active: bool | None = Field(None, description="false: the agent can no longer log in (logged out now)")


class QueueChange(BaseModel):
    version: int
    skill: str | None = Field(None, description="a known skill")
    min_level: int | None = Field(None, description="1-10")
    sl_threshold_s: float | None = Field(None, description="service-level threshold, seconds")


class CodesChange(BaseModel):
    version: int
    codes: list[str] = Field(description="1-50 codes of a-z, 0-9, '_' or '-'")


class Changed(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: str
    id: str
    version: int


def describe_admin(doc: ApiDoc) -> None:
    doc.op(
        "get",
        "/v1/admin/config",
        "every administered object (agents, queues, skills, codes) with its version; administrators only",
        response=AdminConfig,
        errors=_ERRORS,
    )
    for path, what, model in (
        ("/v1/admin/agents/{object_id}", "an agent's skills, team, active flag", AgentChange),
        ("/v1/admin/queues/{object_id}", "a queue's skill, minimum level, service-level threshold", QueueChange),
        ("/v1/admin/codes/{object_id}", "the not_ready or wrap_up code list", CodesChange),
    ):
        doc.op(
            "put",
            path,
            f"change {what}: published to every site through etcd, applied at the next offer "
            "and audited there; administrators only",
            request=model,
            response=Changed,
            errors=_CHANGE_ERRORS,
        )
