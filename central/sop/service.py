"""The SOP service: the I/O around the pure engine. Each operation reads the instance, steps the
engine with the injected clock's ``now``, performs the effects (a service task's resources through
the :class:`~central.sop.resolver.Resolver`, fed back as ``Resolved``), then writes the new state
and its history in one transaction over the revision it read. A refused event writes nothing.
Definitions are parsed once per (key, version) from the snapshot the instance carries, so a
newer version never changes a running instance."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from central.sop.definition import Definition, parse_definition
from central.sop.engine import (
    Cancel,
    Event,
    Resolve,
    Resolved,
    RollBack,
    Start,
    State,
    Step,
    Submit,
    TimerDue,
    step,  # fmt: skip
)
from central.sop.errors import BadDefinition, SopError, VersionConflict
from central.sop.forms import NAME, SENSITIVE
from central.sop.resolver import Resolver
from central.sop.store import Entry, SopStore
from cluster.clock import SYSTEM_CLOCK, Clock
from cluster.logs import log

_log = logging.getLogger(__name__)
MAX_RESOLVES = 20  # service tasks chained within one operation
MAX_START_DATA = 20
CACHED_DEFINITIONS = 256


def start_data(raw: Any) -> dict[str, Any]:
    """What an instance starts with (e.g. the call's customer number): a few named scalars."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or len(raw) > MAX_START_DATA:
        raise BadDefinition(f"data: an object of at most {MAX_START_DATA} values", error_id="sop.bad_request",
                            field="data")  # fmt: skip
    for name, value in raw.items():
        if not isinstance(name, str) or not NAME.match(name) or SENSITIVE.search(name):
            raise BadDefinition(f"data.{name}: a field name (and never a PIN, password or account number)",
                                error_id="sop.bad_request", field=f"data.{name}")  # fmt: skip
        if value is not None and (not isinstance(value, str | int | float | bool)
                                  or (isinstance(value, str) and len(value) > 500)):  # fmt: skip
            raise BadDefinition(f"data.{name}: text (500 characters at most), a number or true/false",
                                error_id="sop.bad_request", field=f"data.{name}")  # fmt: skip
    return dict(raw)


class SopService:
    def __init__(self, store: SopStore, resolver: Resolver, clock: Clock = SYSTEM_CLOCK) -> None:
        self.store = store
        self.resolver = resolver
        self.clock = clock
        self._parsed: OrderedDict[tuple[str, int], Definition] = OrderedDict()

    def _definition(self, key: str, version: int, document: Mapping[str, Any]) -> Definition:
        found = self._parsed.get((key, version))
        if found is None:
            found = self._parsed[(key, version)] = parse_definition(document)
            while len(self._parsed) > CACHED_DEFINITIONS:
                self._parsed.popitem(last=False)
        self._parsed.move_to_end((key, version))
        return found

    async def publish(self, actor: str, document: dict[str, Any]) -> dict[str, Any]:
        definition = parse_definition(document)  # refused whole, naming the element, before anything is written
        version = await self.store.publish(definition.key, definition.title, dict(definition.document), actor,
                                           self.clock.now())  # fmt: skip
        log(_log, logging.INFO, "SOP published", key=definition.key, version=version, actor=actor)
        return await self.store.definition(definition.key, version)

    async def _drive(self, definition: Definition, state: State | None, event: Event, actor: str,
                     role: str | None) -> tuple[State, list[Entry]]:  # fmt: skip
        now = self.clock.now()
        result = step(definition, state, event, now)
        entries = [_entry(now, actor, event, result)]
        for _ in range(MAX_RESOLVES):
            asks = [e for e in result.effects if isinstance(e, Resolve)]
            if not asks:
                return result.state, entries
            ask = asks[0]
            values, errors = await self.resolver.resolve(sorted(set(ask.fields.values())), ask.inputs, role)
            mine = {name: values[f] for name, f in ask.fields.items() if f in values}
            failed = {name: errors[f] for name, f in ask.fields.items() if f in errors}
            failed |= {name: {"error_id": "sop.no_value", "message": f"{f}: no value"}
                       for name, f in ask.fields.items() if name not in mine and name not in failed}  # fmt: skip
            answer = Resolved(ask.element, mine, failed)
            now = self.clock.now()
            result = step(definition, result.state, answer, now)
            entries.append(_entry(now, "resources", answer, result))
        raise SopError(f"more than {MAX_RESOLVES} service tasks in a row", error_id="sop.loop")

    async def start(self, actor: str, role: str | None, key: str, data: Any, call_id: str | None,
                    version: int | None = None) -> dict[str, Any]:  # fmt: skip
        chosen = await self.store.definition(key, version)
        definition = self._definition(key, chosen["version"], chosen["document"])
        state, entries = await self._drive(definition, None, Start(start_data(data)), actor, role)
        entries[0].details["version"] = chosen["version"]
        instance_id = await self.store.create(chosen, state.to_dict(), call_id, entries[0])
        if len(entries) > 1:
            await self.store.save(await self.store.instance(instance_id), state.to_dict(), entries[1:])
        return await self.view(instance_id)

    async def _apply(self, instance_id: int, event: Event, actor: str, role: str | None,
                     revision: int | None = None) -> dict[str, Any]:  # fmt: skip
        instance = await self.store.instance(instance_id)
        if revision is not None and revision != instance["revision"]:
            raise VersionConflict(f"SOP instance {instance_id} is at revision {instance['revision']}, not {revision}",
                                  instance=instance_id)  # fmt: skip
        definition = self._definition(instance["key"], instance["version"], instance["snapshot"])
        state, entries = await self._drive(definition, State.from_dict(instance["state"]), event, actor, role)
        revision_now = await self.store.save(instance, state.to_dict(), entries)
        saved = {**instance, "status": state.status, "at": state.at, "due_at": state.due_at,
                 "updated_at": entries[-1].at, "revision": revision_now}  # fmt: skip
        return self._view(saved, definition, state, "agent")

    async def submit(self, instance_id: int, actor: str, role: str | None, element: str, channel: str,
                     values: Any, revision: int | None = None) -> dict[str, Any]:  # fmt: skip
        return await self._apply(instance_id, Submit(element, channel, values), actor, role, revision)

    async def roll_back(self, instance_id: int, actor: str, role: str | None, to: str) -> dict[str, Any]:
        return await self._apply(instance_id, RollBack(to), actor, role)

    async def cancel(self, instance_id: int, actor: str, reason: str) -> dict[str, Any]:
        return await self._apply(instance_id, Cancel(reason), actor, None)

    async def fire_due(self) -> int:
        """Move on every instance whose timer is due; the number moved (a replica that lost the race skips)."""
        moved = 0
        for instance_id in await self.store.due(self.clock.now()):
            instance = await self.store.instance(instance_id)
            if instance["at"] is None:
                continue
            try:
                await self._apply(instance_id, TimerDue(instance["at"]), "timer", None, instance["revision"])
                moved += 1
            except SopError as exc:  # another replica fired it, or it was rolled back meanwhile
                log(_log, logging.INFO, "SOP timer skipped", instance=instance_id, error_id=exc.error_id)
        return moved

    async def view(self, instance_id: int, channel: str = "agent") -> dict[str, Any]:
        instance = await self.store.instance(instance_id)
        definition = self._definition(instance["key"], instance["version"], instance["snapshot"])
        return self._view(instance, definition, State.from_dict(instance["state"]), channel)

    @staticmethod
    def _view(instance: dict[str, Any], definition: Definition, state: State, channel: str) -> dict[str, Any]:
        task: dict[str, Any] | None = None
        if state.at is not None:
            element = definition.element(state.at)
            task = {"element": element.id, "type": element.type, "title": element.title or element.id}
            if element.form is not None:
                task["form"] = element.form.variant(channel)
            if state.due_at is not None:
                task["due_at"] = state.due_at
        earlier = [v.element for v in state.trail if v.element != state.at or v is not state.trail[-1]]
        earlier = earlier if state.status == "running" else []
        return {**{k: v for k, v in instance.items() if k not in ("snapshot", "state")}, "title": definition.title,
                "outcome": state.outcome, "task": task, "data": dict(state.data), "path": list(state.path),
                "can_roll_back_to": list(dict.fromkeys(earlier))}  # fmt: skip


def _entry(now: float, actor: str, event: Event, result: Step) -> Entry:
    state = result.state
    where = {"status": state.status, "at": state.at}
    if isinstance(event, Start):
        return Entry(now, actor, "start", None, {**where, "data": dict(event.data)})
    if isinstance(event, Submit):
        return Entry(now, actor, "submit", event.element, {**where, "channel": event.channel, "values": event.values})
    if isinstance(event, Resolved):
        return Entry(now, actor, "resolved", event.element, {**where, "fields": sorted(event.values),
                                                             "errors": dict(event.errors)})  # fmt: skip
    if isinstance(event, TimerDue):
        return Entry(now, actor, "timer", event.element, where)
    if isinstance(event, RollBack):
        return Entry(now, actor, "rollback", event.to, {**where, "data": dict(state.data)})
    return Entry(now, actor, "cancel", None, {**where, "reason": event.reason})
