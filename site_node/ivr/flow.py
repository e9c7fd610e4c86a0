"""IVR flows as data (V3): node types, parsing and validation.

A flow is a mapping (from YAML or JSON)::

    id: retail_banking
    name: Retail banking
    languages: [en, zh]            # every prompt must have a text (or audio) per language
    timezone: Asia/Shanghai        # for time-of-day conditions
    holidays: ["2026-10-01"]       # holiday calendar (local dates)
    start: welcome
    nodes:
      - {id: welcome, type: play, prompt: {en: "Welcome.", zh: "欢迎。"}, next: menu}
      - id: menu
        type: menu
        options:
          - {digit: "1", function: {en: "account balance", zh: "账户余额查询"}, next: balance}
        on_fail: agent

Menu wording is generated "function before key" (V2): ``For account balance, press 1.`` /
``账户余额查询，请按1。``; an option's function text may not itself say "press"/"按".
Every problem raises :class:`InvalidFlow` naming the flow and the node.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from site_node.call.data import is_sensitive_key

from .errors import InvalidFlow

Texts = Mapping[str, str]

NODE_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    # type: (required fields, optional fields) besides id/type
    "play": ({"next"}, {"prompt", "audio"}),
    "menu": ({"options", "on_fail"}, {"intro", "invalid", "timeout_s", "retries"}),
    "collect": ({"prompt", "var", "digits", "next", "on_fail"},
                {"terminator", "timeout_s", "retries", "store", "min_digits"}),
    "sensitive_collect": ({"prompt", "verifier", "digits", "next", "on_fail"},
                          {"terminator", "timeout_s", "retries", "invalid", "on_locked"}),
    "lookup": ({"by", "next", "on_not_found"}, {"var"}),
    "condition": ({"branches", "default"}, set()),
    "set": ({"next"}, {"values", "action", "language"}),
    "queue": ({"queue", "skill"}, {"priority", "prompt"}),
    "transfer": ({"target"}, {"prompt"}),
    "voicemail": ({"mailbox"}, {"prompt", "max_s"}),
    "callback_offer": ({"accept", "decline"},
                       {"intro", "accept_function", "decline_function", "timeout_s", "retries"}),
    "hangup": (set(), {"prompt", "reason"}),
    # self-service over central's resource engine (:mod:`site_node.ivr.selfservice`)
    "fetch": ({"fields", "next", "on_error"}, {"inputs", "store", "prompt", "on_refused", "outcome"}),
    "say": ({"text", "next"}, set()),
    "confirm": ({"text", "on_yes", "on_no", "on_fail"}, {"timeout_s", "retries"}),
}
NODE_PARSERS: dict[str, Any] = {}
"""Parsers of node types defined outside this module: ``(parser, node_id, item, spec)``."""
FLOW_KEYS = frozenset({"id", "name", "description", "version", "languages", "timezone",
                       "holidays", "start", "nodes"})
LINK_FIELDS = ("next", "on_fail", "on_not_found", "on_locked", "default", "accept", "decline", "on_error",
               "on_refused", "on_yes", "on_no")
WAITING_TYPES = frozenset({"play", "menu", "collect", "sensitive_collect", "lookup",
                           "callback_offer", "queue", "transfer", "voicemail", "hangup", "fetch",
                           "say", "confirm"})
LOOKUP_KINDS = frozenset({"caller_number", "customer_number", "account"})
TRANSFER_KINDS = frozenset({"return_to_agent", "number", "site", "queue"})
CONDITION_KEYS = frozenset({"segment", "verified", "found", "identified", "var", "equals", "time",
                            "days", "holiday", "language"})
FLOW_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DIGITS = frozenset("0123456789*#")
_KEY_WORDS = {"en": ("press",), "zh": ("按",)}


@dataclass(frozen=True, slots=True)
class Prompt:
    """Text for TTS and/or a recorded audio file, per language."""

    text: Mapping[str, str] = field(default_factory=dict)
    audio: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Node:
    """One node; ``spec`` holds its type-specific fields, already validated."""

    id: str
    type: str
    spec: Mapping[str, Any]

    def link(self, name: str) -> str | None:
        value = self.spec.get(name)
        return None if value is None else str(value)


@dataclass(frozen=True)
class Flow:
    id: str
    version: int
    name: str
    languages: tuple[str, ...]
    timezone: str
    holidays: frozenset[dt.date]
    start: str
    nodes: Mapping[str, Node]
    source: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def default_language(self) -> str:
        return self.languages[0]

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def local_time(self, now: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(now, zoneinfo.ZoneInfo(self.timezone))


def menu_sentence(function: str, digit: str, language: str) -> str:
    """V2 wording: the function first, then the key."""
    if language == "zh":
        key = {"*": "星号键", "#": "井号键"}.get(digit, digit)
        return f"{function}，请按{key}。"
    key = {"*": "star", "#": "pound"}.get(digit, digit)
    return f"For {function}, press {key}."


class _Parser:
    def __init__(self, raw: Mapping[str, Any], version: int) -> None:
        self.raw = raw
        self.version = version
        self.flow_id = str(raw.get("id") or "?")

    def fail(self, node_id: str | None, problem: str) -> InvalidFlow:
        return InvalidFlow(self.flow_id, node_id, problem)

    def texts(self, node_id: str, name: str, value: Any, *, wording: bool = False) -> Texts:
        if isinstance(value, str):
            value = {lang: value for lang in self.languages}
        if not isinstance(value, Mapping):
            raise self.fail(node_id, f"{name} must map language -> text")
        missing = [lang for lang in self.languages if not str(value.get(lang) or "").strip()]
        if missing:
            raise self.fail(node_id, f"{name} has no text for language(s) {', '.join(missing)}")
        out = {str(k): str(v) for k, v in value.items()}
        if wording:
            for lang, words in _KEY_WORDS.items():
                if any(w in out.get(lang, "").lower() for w in words):
                    raise self.fail(node_id, f"{name} must name the function only; the key "
                                    "wording is generated ('For X, press 1')")
        return out

    def prompt(self, node_id: str, spec: Mapping[str, Any], name: str = "prompt",
               required: bool = False) -> Prompt | None:
        text, audio = spec.get(name), spec.get("audio") if name == "prompt" else None
        if text is None and audio is None:
            if required:
                raise self.fail(node_id, f"{name} is required")
            return None
        return Prompt(
            text=self.texts(node_id, name, text) if text is not None else {},
            audio=self.texts(node_id, "audio", audio) if audio is not None else {},
        )

    def number(self, node_id: str, spec: Mapping[str, Any], name: str, default: float,
               *, low: float = 0, integer: bool = False) -> Any:
        value = spec.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
            raise self.fail(node_id, f"{name} must be a number >= {low}")
        if integer and not isinstance(value, int):
            raise self.fail(node_id, f"{name} must be an integer")
        return value

    def parse(self) -> Flow:
        raw = self.raw
        if unknown := set(raw) - FLOW_KEYS:
            raise self.fail(None, f"unknown flow field(s) {', '.join(sorted(map(str, unknown)))}")
        if not raw.get("id") or not isinstance(raw.get("id"), str):
            raise self.fail(None, "the flow needs a string id")
        if not FLOW_ID.fullmatch(raw["id"]):
            raise self.fail(None, "the id must be 1-64 letters, digits, '_' or '-' (it names keys and files)")
        langs = raw.get("languages", ["en"])
        if not isinstance(langs, list) or not langs or not all(isinstance(x, str) for x in langs):
            raise self.fail(None, "languages must be a non-empty list")
        self.languages = tuple(langs)
        tz = str(raw.get("timezone", "UTC"))
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise self.fail(None, f"unknown timezone {tz!r}") from exc
        try:
            holidays = frozenset(dt.date.fromisoformat(str(d)) for d in raw.get("holidays", []))
        except ValueError as exc:
            raise self.fail(None, f"bad holiday date: {exc}") from exc
        nodes_raw = raw.get("nodes")
        if not isinstance(nodes_raw, list) or not nodes_raw:
            raise self.fail(None, "nodes must be a non-empty list")
        nodes: dict[str, Node] = {}
        for item in nodes_raw:
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
                raise self.fail(None, f"every node needs a string id (got {item!r:.60})")
            node_id = item["id"]
            if node_id in nodes:
                raise self.fail(node_id, "duplicate node id")
            nodes[node_id] = self.node(node_id, item)
        start = raw.get("start")
        if start not in nodes:
            raise self.fail(None, f"start node {start!r} does not exist")
        for node in nodes.values():
            for target in self.links(node):
                if target not in nodes:
                    raise self.fail(node.id, f"links to missing node {target!r}")
        self.check_loops(nodes)
        return Flow(
            id=self.flow_id, version=self.version, name=str(raw.get("name", self.flow_id)),
            languages=self.languages, timezone=tz, holidays=holidays, start=str(start),
            nodes=nodes, source=dict(raw),
        )

    @staticmethod
    def links(node: Node) -> list[str]:
        out = [str(node.spec[name]) for name in LINK_FIELDS if node.spec.get(name) is not None]
        out += [str(o["next"]) for o in node.spec.get("options", ())]
        out += [str(b["next"]) for b in node.spec.get("branches", ())]
        return out

    def check_loops(self, nodes: Mapping[str, Node]) -> None:
        """Nodes that do not wait (condition, set) must not form a cycle."""
        state: dict[str, int] = {}

        def visit(node_id: str) -> None:
            state[node_id] = 1
            for target in self.links(nodes[node_id]):
                if nodes[target].type in WAITING_TYPES:
                    continue
                if state.get(target) == 1:
                    raise self.fail(target, "condition/set nodes form a loop with no wait")
                if target not in state:
                    visit(target)
            state[node_id] = 2

        for node_id, node in nodes.items():
            if node.type not in WAITING_TYPES and node_id not in state:
                visit(node_id)

    def node(self, node_id: str, item: Mapping[str, Any]) -> Node:
        kind = item.get("type")
        if kind not in NODE_FIELDS:
            raise self.fail(node_id, f"unknown node type {kind!r}")
        required, optional = NODE_FIELDS[str(kind)]
        given = set(item) - {"id", "type"}
        if missing := required - given:
            raise self.fail(node_id, f"{kind} node is missing {', '.join(sorted(missing))}")
        if unknown := given - required - optional:
            raise self.fail(node_id, f"{kind} node has unknown field(s) "
                            f"{', '.join(sorted(unknown))}")
        spec: dict[str, Any] = {name: item[name] for name in LINK_FIELDS if name in item}
        if kind in NODE_PARSERS:
            NODE_PARSERS[str(kind)](self, node_id, item, spec)
        else:
            getattr(self, f"_{kind}")(node_id, item, spec)
        return Node(node_id, str(kind), spec)

    # ---- per type ------------------------------------------------------------------------
    def _play(self, nid: str, item: Mapping[str, Any], spec: dict[str, Any]) -> None:
        spec["prompt"] = self.prompt(nid, item, required=True)

    def _menu(self, nid: str, item: Mapping[str, Any], spec: dict[str, Any]) -> None:
        options = item["options"]
        if not isinstance(options, list) or not options:
            raise self.fail(nid, "options must be a non-empty list")
        seen: set[str] = set()
        parsed = []
        for opt in options:
            digit = str(opt.get("digit", "")) if isinstance(opt, Mapping) else ""
            if digit not in DIGITS:
                raise self.fail(nid, f"option digit {digit!r} is not one key 0-9 * #")
            if digit in seen:
                raise self.fail(nid, f"digit {digit} is used twice")
            seen.add(digit)
            if "next" not in opt or "function" not in opt:
                raise self.fail(nid, f"option {digit} needs function and next")
            parsed.append({"digit": digit, "next": str(opt["next"]),
                           "function": self.texts(nid, f"option {digit} function",
                                                  opt["function"], wording=True)})
        spec["options"] = tuple(parsed)
        spec["intro"] = self.prompt(nid, item, "intro")
        spec["invalid"] = self.prompt(nid, item, "invalid")
        spec["timeout_s"] = self.number(nid, item, "timeout_s", 5.0, low=0.5)
        spec["retries"] = self.number(nid, item, "retries", 2, integer=True)

    def _collect_common(self, nid: str, item: Mapping[str, Any], spec: dict[str, Any]) -> None:
        spec["prompt"] = self.prompt(nid, item, required=True)
        spec["digits"] = self.number(nid, item, "digits", 1, low=1, integer=True)
        spec["timeout_s"] = self.number(nid, item, "timeout_s", 8.0, low=0.5)
        spec["retries"] = self.number(nid, item, "retries", 2, integer=True)
        terminator = item.get("terminator", "#")
        if terminator is not None and terminator not in ("#", "*"):
            raise self.fail(nid, "terminator must be '#', '*' or null")
        spec["terminator"] = terminator

    def _collect(self, nid: str, item: Mapping[str, Any], spec: dict[str, Any]) -> None:
        self._collect_common(nid, item, spec)
        var = str(item["var"])
        if is_sensitive_key(var):
            raise self.fail(nid, f"{var!r} is sensitive: use a sensitive_collect node")
        spec["var"] = var
        spec["store"] = bool(item.get("store", True))
        spec["min_digits"] = self.number(nid, item, "min_digits", spec["digits"], low=1,
                                         integer=True)

    def _sensitive_collect(self, nid: str, item: Mapping[str, Any], spec: dict[str, Any]) -> None:
        self._collect_common(nid, item, spec)
        spec["verifier"] = str(item["verifier"])
        spec["invalid"] = self.prompt(nid, item, "invalid")

    def _lookup(self, nid: str, item: Mapping[str, Any], spec: dict[str, Any]) -> None:
        by = item["by"]
        if by not in LOOKUP_KINDS:
            raise self.fail(nid, f"lookup by {by!r}; expected one of {sorted(LOOKUP_KINDS)}")
        if by != "caller_number" and not item.get("var"):
            raise self.fail(nid, f"lookup by {by} needs var (the collected value to use)")
        spec["by"], spec["var"] = by, item.get("var")

    def _condition(self, nid: str, item: Mapping[str, Any], spec: dict[str, Any]) -> None:
        branches = item["branches"]
        if not isinstance(branches, list) or not branches:
            raise self.fail(nid, "branches must be a non-empty list")
        parsed = []
        for branch in branches:
            when = branch.get("when") if isinstance(branch, Mapping) else None
            if not isinstance(when, Mapping) or not when or "next" not in branch:
                raise self.fail(nid, "each branch needs a non-empty 'when' and a 'next'")
            if unknown := set(when) - CONDITION_KEYS:
                raise self.fail(nid, f"unknown condition(s) {', '.join(sorted(unknown))}")
            if "time" in when:
                window = when["time"]
                try:
                    start = dt.time.fromisoformat(str(window["from"]))
                    end = dt.time.fromisoformat(str(window["to"]))
                except (KeyError, TypeError, ValueError) as exc:
                    raise self.fail(nid, "time needs from/to as HH:MM") from exc
                when = {**when, "time": (start, end)}
            if "days" in when and not set(when["days"]) <= set(DAYS):
                raise self.fail(nid, f"days must be among {', '.join(DAYS)}")
            if ("var" in when) != ("equals" in when):
                raise self.fail(nid, "var and equals go together")
            parsed.append({"when": dict(when), "next": str(branch["next"])})
        spec["branches"] = tuple(parsed)

    def _set(self, nid: str, item: Mapping[str, Any], spec: dict[str, Any]) -> None:
        values = item.get("values", {})
        if not isinstance(values, Mapping):
            raise self.fail(nid, "values must be a mapping")
        for key, value in values.items():
            if is_sensitive_key(str(key)):
                raise self.fail(nid, f"{key!r} is sensitive and cannot be set on a call")
            if value is not None and not isinstance(value, str | int | float | bool):
                raise self.fail(nid, f"value of {key!r} must be a plain value")
        spec["values"] = dict(values)
        spec["action"] = item.get("action")
        language = item.get("language")
        if language is not None and language not in self.languages:
            raise self.fail(nid, f"language {language!r} is not one of the flow's languages")
        spec["language"] = language

    def _queue(self, nid: str, item: Mapping[str, Any], spec: dict[str, Any]) -> None:
        spec["queue"], spec["skill"] = str(item["queue"]), str(item["skill"])
        spec["priority"] = self.number(nid, item, "priority", 0, low=-1000, integer=True)
        spec["prompt"] = self.prompt(nid, item)

    def _transfer(self, nid: str, item: Mapping[str, Any], spec: dict[str, Any]) -> None:
        target = str(item["target"])
        kind, _, value = target.partition(":")
        if kind not in TRANSFER_KINDS or (kind != "return_to_agent" and not value):
            raise self.fail(nid, f"target {target!r}: use return_to_agent, number:<n>, "
                            "site:<name> or queue:<name>")
        spec["kind"], spec["target"] = kind, value
        spec["prompt"] = self.prompt(nid, item)

    def _voicemail(self, nid: str, item: Mapping[str, Any], spec: dict[str, Any]) -> None:
        spec["mailbox"] = str(item["mailbox"])
        spec["max_s"] = self.number(nid, item, "max_s", 120.0, low=1)
        spec["prompt"] = self.prompt(nid, item)

    def _callback_offer(self, nid: str, item: Mapping[str, Any], spec: dict[str, Any]) -> None:
        default_yes = {"en": "a call back instead of waiting", "zh": "预约回电"}
        default_no = {"en": "keep waiting", "zh": "继续等待"}
        yes = item.get("accept_function") or {k: default_yes.get(k, default_yes["en"])
                                              for k in self.languages}
        no = item.get("decline_function") or {k: default_no.get(k, default_no["en"])
                                             for k in self.languages}
        spec["options"] = (
            {"digit": "1", "next": str(item["accept"]),
             "function": self.texts(nid, "accept_function", yes, wording=True)},
            {"digit": "2", "next": str(item["decline"]),
             "function": self.texts(nid, "decline_function", no, wording=True)},
        )
        spec["intro"] = self.prompt(nid, item, "intro")
        spec["invalid"] = None
        spec["timeout_s"] = self.number(nid, item, "timeout_s", 5.0, low=0.5)
        spec["retries"] = self.number(nid, item, "retries", 1, integer=True)

    def _hangup(self, nid: str, item: Mapping[str, Any], spec: dict[str, Any]) -> None:
        spec["prompt"] = self.prompt(nid, item)
        spec["reason"] = str(item.get("reason", "completed"))


def parse_flow(raw: Mapping[str, Any], version: int = 1) -> Flow:
    """Validate a flow definition and build the immutable :class:`Flow`."""
    if not isinstance(raw, Mapping):
        raise InvalidFlow("?", None, "a flow must be a mapping")
    return _Parser(raw, version).parse()
