"""The SIP edge's configuration: the ``sip`` section and :class:`SipSettings`.

Contributed through the ``callcenter.config`` entry point ``sip = "site_node.sip.config:SipConfig"``;
environment variables are ``CC_SIP__...`` (e.g. ``CC_SIP__PORT``, ``CC_SIP__CENTRAL_URLS``).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from cluster.config import ClusterSettings, MetricsConfig, Section
from site_node.sip.trunk import TrunkConfig

DEMO_NUMBERS = ["95588", "95589", "95590", "95599"]


class SipConfig(Section):
    name: str = Field(default="sip-edge-1", min_length=1, max_length=64)
    host: str = "127.0.0.1"  # the SIP (UDP) listen address: Kamailio's dispatcher sends here
    port: int = Field(default=5070, ge=1, le=65535)
    rtp_host: str = "127.0.0.1"  # where the carrier and the sites send RTP
    rtp_port_min: int = Field(default=0, ge=0, le=65535)  # 0: any port
    rtp_port_max: int = Field(default=0, ge=0, le=65535)
    central_urls: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:8000"], min_length=1)
    # The dial plan: the service numbers this trunk takes. Anything else is 404 before central.
    numbers: list[str] = Field(default_factory=lambda: list(DEMO_NUMBERS), min_length=1)
    setup_timeout_s: float = Field(default=15.0, gt=0)  # route + join + RTP offer, or 503
    ladder_log: bool = True  # a log line per SIP message (site_node.sip.metrics)
    # /metrics (Prometheus) on its own listener; unset port: none
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    route_patience_s: float = Field(default=3.0, gt=0)  # no central can route the call by then: 503
    # egress: the carrier gateway outbound calls go through (site_node.sip.trunk); unset: none
    trunk: TrunkConfig | None = None

    @field_validator("central_urls", "numbers", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("host", "rtp_host")
    @classmethod
    def _address(cls, value: str) -> str:
        ipaddress.ip_address(value)  # a ValueError names the key
        return value

    @field_validator("central_urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not re.match(r"^https?://[^/\s]+$", url):
                raise ValueError(f"{url!r} is not an http(s)://host:port URL")
        return value

    @field_validator("numbers")
    @classmethod
    def _numbers(cls, value: list[str]) -> list[str]:
        for number in value:
            if not re.match(r"^\+?[0-9]{2,20}$", number):
                raise ValueError(f"{number!r} is not a dialled number (digits, optional +)")
        return value

    @model_validator(mode="after")
    def _ports(self) -> SipConfig:
        if self.rtp_port_min and self.rtp_port_max < self.rtp_port_min + 3:
            raise ValueError("rtp_port_max must leave room above rtp_port_min (or both 0)")
        return self

    def rtp_ports(self) -> range | None:
        return range(self.rtp_port_min, self.rtp_port_max + 1) if self.rtp_port_min else None


class SipSettings(ClusterSettings):
    """What the SIP edge reads: ``log_level``, ``tokens`` (the cluster secret) and ``sip``."""

    sip: SipConfig = Field(default_factory=SipConfig)
