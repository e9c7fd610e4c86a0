"""Egress: the carrier trunk the edge places outbound calls through (``sip.trunk``).

The edge owns the carrier dialog; the site owns the call. Before any INVITE leaves the edge,
:func:`outbound_target` decides whether a number may be dialled (the trunk's dial plan: allowed
number patterns) and which caller ID is presented (per queue, else the trunk's default). It is
pure: no I/O, so the site's API and the IVR's ``transfer: number:...`` share one decision.

Configured as ``CC_SIP__TRUNK__GATEWAY=203.0.113.5:5060``,
``CC_SIP__TRUNK__DIAL_PLAN='["^0[1-9][0-9]{8,10}$"]'``,
``CC_SIP__TRUNK__CALLER_ID__SUPPORT=95588``; a bad value fails the start naming the key.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from pydantic import Field, field_validator, model_validator

from cluster.config import Section
from site_node.sip.errors import SipError

_NUMBER = re.compile(r"^\+?[0-9]{2,20}$")


class OutsideDialPlan(SipError):
    error_id = "sip.outside_dial_plan"
    status = 403
    sip_code = 403
    sip_reason = "Forbidden"


class NoTrunk(SipError):
    error_id = "sip.no_trunk"
    status = 503
    sip_code = 503
    sip_reason = "Service Unavailable"


class TrunkConfig(Section):
    gateway: str = Field(min_length=3)  # the carrier gateway, host:port
    dial_plan: list[str] = Field(min_length=1)  # allowed numbers, each a full-match regex
    caller_id: dict[str, str] = Field(default_factory=dict)  # queue -> presented number
    default_caller_id: str = "anonymous"
    ring_timeout_s: float = Field(default=30.0, gt=0, le=300)  # no answer by then: the attempt ends

    @field_validator("dial_plan", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("gateway")
    @classmethod
    def _gateway(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"{value!r} is not host:port")
        ipaddress.ip_address(host)
        return value

    @field_validator("dial_plan")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _caller_ids(self) -> TrunkConfig:
        for queue, number in {**self.caller_id, "(default)": self.default_caller_id}.items():
            if number != "anonymous" and not _NUMBER.match(number):
                raise ValueError(f"caller_id for {queue!r}: {number!r} is not a number (or 'anonymous')")
        return self

    def gateway_address(self) -> tuple[str, int]:
        host, _, port = self.gateway.rpartition(":")
        return host, int(port)


@dataclass(frozen=True)
class OutboundTarget:
    number: str
    caller_id: str
    gateway: tuple[str, int]


def outbound_target(trunk: TrunkConfig | None, number: str, queue: str | None) -> OutboundTarget:
    """Where and as whom ``number`` is dialled; :class:`OutsideDialPlan` if the dial plan does
    not allow it, :class:`NoTrunk` if this edge has no trunk. Never echoes more than the
    number's length into the error (a dialled number is not secret, but keep errors short)."""
    if trunk is None:
        raise NoTrunk("this edge has no carrier trunk configured (sip.trunk)")
    if not _NUMBER.match(number):
        raise OutsideDialPlan(f"a number of {len(number)} characters is not a dialable number")
    if not any(re.fullmatch(pattern, number) for pattern in trunk.dial_plan):
        raise OutsideDialPlan(f"{number} is outside the trunk's dial plan")
    caller_id = trunk.caller_id.get(queue or "", trunk.default_caller_id)
    return OutboundTarget(number, caller_id, trunk.gateway_address())
