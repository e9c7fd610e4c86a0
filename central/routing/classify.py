"""Classification of a call from its dialled number (DNIS) and its caller (C2).

The dialled number selects the service, the skill it queues for and a base priority; the
customer's segment (from a customer token, signed by the bank's app or IVR) can raise the
priority and route VIPs to the VIP skill. The table is data (``dnis.yaml`` or a file named in
configuration), validated on load with errors naming the entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from cluster.errors import BadRequest, ConfigError

_NUMBER = re.compile(r"^\+?[0-9*#]{1,20}$")


@dataclass(frozen=True, slots=True)
class Service:
    service: str
    skill: str
    priority: int


@dataclass(frozen=True, slots=True)
class Classification:
    service: str
    skill: str
    priority: int
    segment: str | None
    home_site: str | None
    customer_id: str | None


def validate_number(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _NUMBER.match(value):
        raise BadRequest(f"{field} must be a phone number (digits, optional +, * or #)", error_id="route.bad_number")
    return value


def _service(entry: Any, where: str) -> Service:
    if not isinstance(entry, dict) or not {"service", "skill"} <= set(entry):
        raise ConfigError(f"dnis table entry {where}: needs service and skill", error_id="config.bad_value", key=where)
    priority = entry.get("priority", 1)
    if not isinstance(priority, int) or not 0 <= priority <= 100:
        raise ConfigError(f"dnis table entry {where}: priority must be 0-100", error_id="config.bad_value", key=where)
    return Service(str(entry["service"]), str(entry["skill"]), priority)


class Classifier:
    def __init__(self, table: dict[str, Any]) -> None:
        self.default = _service(table.get("default"), "default")
        self.numbers = {str(k): _service(v, f"numbers.{k}") for k, v in dict(table.get("numbers", {})).items()}
        self.segments: dict[str, dict[str, Any]] = dict(table.get("segments", {}))

    @classmethod
    def load(cls, path: str | Path | None = None) -> Classifier:
        text = (
            Path(path).read_text()
            if path is not None
            else resources.files("central.routing").joinpath("dnis.yaml").read_text()
        )
        return cls(yaml.safe_load(text))

    def classify(
        self,
        dialled: str,
        *,
        segment: str | None = None,
        home_site: str | None = None,
        customer_id: str | None = None,
    ) -> Classification:
        service = self.numbers.get(dialled, self.default)
        skill, priority = service.skill, service.priority
        rule = self.segments.get(segment or "")
        if rule:
            priority += int(rule.get("priority_boost", 0))
            skill = str(rule.get("skill_override", skill))
        return Classification(service.service, skill, priority, segment, home_site, customer_id)
