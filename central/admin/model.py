"""The administered objects and the validation of a change: pure, no I/O.

Objects live in etcd, one key each (``<prefix>/config/admin/<kind>/<id>``), as
``{"version": n, "document": {...}, "by": editor, "at": time}``. A change names the version it
was made from; :func:`plan_change` checks it and every field against the :class:`Catalog` (what
is published now) and returns the new document, or raises naming the field::

    agents/<agent_id>   {"skills": {skill: 1-10}, "team": str | None, "active": bool}
    queues/<name>       {"skill": known skill, "min_level": 1-10, "sl_threshold_s": > 0}
    skills/<name>       {}                     (the skills there are; seeded by the sites)
    codes/not_ready     {"codes": [code, ...]} (what an agent may choose; also codes/wrap_up)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from central.admin.errors import AdminInvalid, AdminNotFound, AdminVersionConflict

KINDS = ("agents", "queues", "skills", "codes")
EDITABLE = ("agents", "queues", "codes")
CODE_LISTS = ("not_ready", "wrap_up")
MIN_LEVEL, MAX_LEVEL = 1, 10
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_FIELDS = {
    "agents": ("skills", "team", "active"),
    "queues": ("skill", "min_level", "sl_threshold_s"),
    "codes": ("codes",),
}


@dataclass(frozen=True, slots=True)
class Published:
    version: int
    document: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Catalog:
    """What the cluster has now, per kind: ``{id: Published}``."""

    objects: Mapping[str, Mapping[str, Published]] = field(default_factory=dict)

    def of(self, kind: str) -> Mapping[str, Published]:
        return self.objects.get(kind, {})

    @property
    def skills(self) -> frozenset[str]:
        return frozenset(self.of("skills"))


def _bad(field_name: str, message: str) -> AdminInvalid:
    return AdminInvalid(f"{field_name}: {message}; nothing changed", field=field_name)


def _level(field_name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_LEVEL <= value <= MAX_LEVEL:
        raise _bad(field_name, f"a skill level is a whole number 1-10, not {value!r}")
    return value


def _skill(field_name: str, name: Any, catalog: Catalog) -> str:
    if not isinstance(name, str) or name not in catalog.skills:
        raise _bad(field_name, f"unknown skill {name!r} (known: {', '.join(sorted(catalog.skills))})")
    return name


def _agent(patch: Mapping[str, Any], current: Mapping[str, Any], catalog: Catalog) -> dict[str, Any]:
    doc = {"skills": dict(current.get("skills", {})), "team": current.get("team"),
           "active": bool(current.get("active", True))}  # fmt: skip
    if "skills" in patch:
        skills = patch["skills"]
        if not isinstance(skills, Mapping) or not skills:
            raise _bad("skills", "give at least one skill as {skill: level}")
        doc["skills"] = {_skill(f"skills.{s}", s, catalog): _level(f"skills.{s}", lv) for s, lv in skills.items()}
    if "team" in patch:
        team = patch["team"]
        if team is not None and (not isinstance(team, str) or not team.strip() or len(team) > 64):
            raise _bad("team", "a team is a name of 1-64 characters, or null")
        doc["team"] = team
    if "active" in patch:
        if not isinstance(patch["active"], bool):
            raise _bad("active", "true or false")
        doc["active"] = patch["active"]
    return doc


def _queue(patch: Mapping[str, Any], current: Mapping[str, Any], catalog: Catalog) -> dict[str, Any]:
    doc = {k: current.get(k) for k in _FIELDS["queues"]}
    if "skill" in patch:
        doc["skill"] = _skill("skill", patch["skill"], catalog)
    if "min_level" in patch:
        doc["min_level"] = _level("min_level", patch["min_level"])
    if "sl_threshold_s" in patch:
        value = patch["sl_threshold_s"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3600:
            raise _bad("sl_threshold_s", f"seconds, more than 0 and at most 3600, not {value!r}")
        doc["sl_threshold_s"] = float(value)
    return doc


def _codes(patch: Mapping[str, Any]) -> dict[str, Any]:
    codes = patch.get("codes")
    if not isinstance(codes, list) or not codes or len(codes) > 50:
        raise _bad("codes", "give a list of 1-50 codes")
    for i, code in enumerate(codes):
        if not isinstance(code, str) or not _CODE.match(code):
            raise _bad(f"codes[{i}]", f"a code is 1-40 of a-z, 0-9, '_' or '-', not {code!r}")
    if len(set(codes)) != len(codes):
        raise _bad("codes", "a code appears twice")
    return {"codes": list(codes)}


def plan_change(kind: str, object_id: str, body: Mapping[str, Any], catalog: Catalog) -> Published:
    """The object's next version after ``body`` (``{"version": read version, ...fields}``)."""
    if kind not in EDITABLE:
        raise AdminNotFound(f"{kind!r} cannot be administered here (one of {', '.join(EDITABLE)})", field="kind")
    current = catalog.of(kind).get(object_id)
    if kind == "codes" and object_id not in CODE_LISTS:
        raise AdminNotFound(f"code list {object_id!r} does not exist (one of {', '.join(CODE_LISTS)})",
                            field="list")  # fmt: skip
    if current is None and kind != "codes":
        name = "agent_id" if kind == "agents" else "queue"
        raise AdminNotFound(f"{name}: {kind[:-1]} {object_id!r} does not exist; nothing changed", field=name)
    unknown = sorted(set(body) - {"version", *_FIELDS[kind]})
    if unknown:
        raise _bad(unknown[0], f"not a field of {kind} (fields: version, {', '.join(_FIELDS[kind])})")
    expected = body.get("version")
    if isinstance(expected, bool) or not isinstance(expected, int):
        raise _bad("version", "give the version you read (GET /v1/admin/config), a whole number")
    have = current.version if current is not None else 0
    if expected != have:
        raise AdminVersionConflict(
            f"{kind}/{object_id} is at version {have}, not {expected}: someone changed it since you read it; "
            "nothing changed: read it again and redo your change",
            kind=kind, id=object_id, version=have,
        )  # fmt: skip
    now = current.document if current is not None else {}
    if kind == "agents":
        document = _agent(body, now, catalog)
    elif kind == "queues":
        document = _queue(body, now, catalog)
    else:
        document = _codes(body)
    return Published(have + 1, document)
