"""One catalogue of queues and skills: the demo IVR flows, the seed and central's DNIS table agree.

A flow that queues a call for a queue or skill the site's database does not have strands the
caller; a dialled number that central classifies to an unknown skill finds no site to serve it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from central.routing.classify import Classifier
from site_node.ivr import Flow, FlowRegistry, load_demo_registry
from site_node.storage.seed import QUEUES, SKILLS

SEED_QUEUES = {str(q["name"]): str(q["skill"]) for q in QUEUES}


@pytest.fixture(scope="module")
def registry() -> FlowRegistry:
    return load_demo_registry()


def _flows(registry: FlowRegistry) -> Iterator[Flow]:
    for flow_id in registry.flow_ids():
        for version in registry.versions(flow_id):
            yield registry.get(flow_id, version)


def _queued(flow: Flow) -> list[tuple[str, str, str | None]]:
    """(node id, queue, skill) of every place the flow puts a call into a queue."""
    found: list[tuple[str, str, str | None]] = []
    for node in flow.nodes.values():
        if node.type == "queue":
            found.append((node.id, str(node.spec["queue"]), str(node.spec["skill"])))
        elif node.type == "transfer" and node.spec["kind"] == "queue":
            found.append((node.id, str(node.spec["target"]), None))
    return found


def test_every_queue_and_skill_of_the_demo_flows_is_seeded(registry: FlowRegistry) -> None:
    referenced = [(flow.id, *entry) for flow in _flows(registry) for entry in _queued(flow)]

    unknown = [
        (flow_id, node_id, queue, skill)
        for flow_id, node_id, queue, skill in referenced
        if queue not in SEED_QUEUES or (skill is not None and (skill not in SKILLS or SEED_QUEUES[queue] != skill))
    ]

    assert len(referenced) >= 8  # every queue node of the five demo bank flows
    assert {queue for _f, _n, queue, _s in referenced} == {"retail", "credit_card", "loans", "vip"}
    assert unknown == []


def test_urgent_lost_cards_outrank_other_card_calls(registry: FlowRegistry) -> None:
    cards = registry.latest("credit_cards")
    urgent, normal = cards.node("urgent_queue").spec, cards.node("cards_queue").spec

    assert (urgent["queue"], urgent["skill"]) == (normal["queue"], normal["skill"]) == ("credit_card", "credit_card")
    assert urgent["priority"] > normal["priority"]


def test_every_routed_number_classifies_to_a_seeded_skill_the_flow_serves(registry: FlowRegistry) -> None:
    classifier = Classifier.load()
    routes = registry.routes()

    mismatched = []
    for route in routes:
        number, segment, flow_id = str(route["dialled_number"]), route["segment"], str(route["flow_id"])
        skill = classifier.classify(number, segment=segment).skill
        served = {queue_skill for _n, _q, queue_skill in _queued(registry.latest(flow_id))}
        if number not in classifier.numbers or skill not in SKILLS or skill not in served:
            mismatched.append((number, segment, flow_id, skill, sorted(s or "" for s in served)))

    assert {str(r["dialled_number"]) for r in routes} == {"95581", "95582", "95588", "95589", "95590", "95599"}
    assert mismatched == []


def test_numbers_the_flows_transfer_to_are_routed(registry: FlowRegistry) -> None:
    routed = {str(r["dialled_number"]) for r in registry.routes()}
    targets = {
        str(node.spec["target"])
        for flow in _flows(registry)
        for node in flow.nodes.values()
        if node.type == "transfer" and node.spec["kind"] == "number"
    }

    assert targets and targets <= routed


def test_every_customer_line_recognises_a_registered_caller_number(registry: FlowRegistry) -> None:
    """The bank recognises its customers by the number they call from on every line (the
    agent's screen says so, marked unverified): each flow a dialled number reaches looks the
    caller number up before its first menu."""
    lines = {str(route["flow_id"]) for route in registry.routes()}
    missing = [flow_id for flow_id in sorted(lines) if _menu_before_caller_lookup(registry.latest(flow_id))]
    assert missing == []


def _successors(spec: dict[str, object]) -> list[str]:
    found = [str(spec[k]) for k in ("next", "default", "on_fail", "on_not_found", "accept", "decline") if spec.get(k)]
    for key in ("branches", "options"):
        found += [str(item["next"]) for item in spec.get(key) or () if isinstance(item, dict) and item.get("next")]
    return found


def _menu_before_caller_lookup(flow: Flow) -> bool:
    """Whether some path from the start reaches a menu without a caller-number look-up."""
    todo, seen = [flow.start], set()
    while todo:
        node = flow.node(todo.pop())
        if node.id in seen or (node.type == "lookup" and node.spec.get("by") == "caller_number"):
            continue
        if node.type == "menu":
            return True
        seen.add(node.id)
        todo += _successors(dict(node.spec))
    return False
