"""SOP flows through central's API on a real business database (SQLite; one PostgreSQL run), the
service tasks resolved by the real resource engine against the back-office simulator: publish
(YAML or JSON) with bad definitions refused naming the element, a running instance keeping its
version while the next is published, submit with bad data refused and the instance unchanged,
roll back, cancel, the history, a restart, a timer on the injected clock, and the roles."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from central.crm.api import CrmApi
from central.resources.api import ResourcesApi
from central.resources.config import ResourcesConfig
from central.sop.api import SopApi
from central.sop.resolver import ResourceResolver
from cluster.clock import ManualClock
from cluster.tokens import TokenSigner
from tests.crm.conftest import BusinessPart, serve
from tests.fixtures_pg import create_database, drop_database, postgres_url  # noqa: F401
from tests.resources.conftest import backoffice_url  # noqa: F401
from tests.resources.test_executor import gas_and_card

DEFS, RUNS = "/v1/sop/definitions", "/v1/sop/instances"


def move_contract(title: str = "Move my gas contract", *, extra_task: bool = False) -> dict[str, Any]:
    confirm_next = "survey" if extra_task else "done"
    elements: list[dict[str, Any]] = [
        {"id": "start", "type": "start", "next": "address"},
        {"id": "address", "type": "user_task", "title": "The new address",
         "form": {"fields": [{"name": "street", "type": "text"}, {"name": "move_date", "type": "date"},
                             {"name": "note", "type": "text", "required": False}],
                  "channels": {"web": ["street", "move_date"]}}, "next": "bill"},
        {"id": "bill", "type": "service_task", "resolve": {"arrears": "arrears"},
         "inputs": {"customer_number": "customer_number"}, "next": "owing", "on_error": "manual"},
        {"id": "owing", "type": "gateway", "branches": [{"when": "arrears > 0", "to": "settle"}], "default": "confirm"},
        {"id": "settle", "type": "user_task", "title": "Settle the open bill",
         "form": {"fields": [{"name": "agreed", "type": "boolean"}]}, "next": "confirm"},
        {"id": "manual", "type": "user_task", "title": "Check the bill by hand",
         "form": {"fields": [{"name": "checked", "type": "boolean"}]}, "next": "confirm"},
        {"id": "confirm", "type": "user_task", "title": "Confirm the move",
         "form": {"fields": [{"name": "confirmed", "type": "boolean"}]}, "next": confirm_next},
        {"id": "done", "type": "end", "outcome": "moved"},
    ]  # fmt: skip
    if extra_task:
        elements.append({"id": "survey", "type": "user_task", "form": {"fields": [
            {"name": "score", "type": "integer", "min": 1, "max": 5}]}, "next": "done"})  # fmt: skip
    return {"key": "gas-move", "title": title, "elements": elements}


def _parts(backoffice: str, clock: ManualClock | None = None) -> Callable[[CrmApi, TokenSigner], list[BusinessPart]]:
    def make(crm: CrmApi, signer: TokenSigner) -> list[BusinessPart]:
        resources = ResourcesApi(ResourcesConfig(backoffice_url=backoffice), signer, max_body_bytes=65536)
        timing: dict[str, Any] = {"clock": clock, "scheduler": clock} if clock is not None else {}
        return [resources, SopApi(crm, signer, ResourceResolver(resources), max_body_bytes=65536, **timing)]

    return make


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'business.db'}"


async def _call(http: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str],
                body: Any = None) -> tuple[int, Any]:  # fmt: skip
    async with http.request(method, url, json=body, headers=headers) as r:
        return r.status, await r.json()


async def _scenario(url: str, backoffice: str) -> None:
    number = gas_and_card()
    async for server in serve(url, parts=_parts(backoffice)):
        base, lead, agent = server.url, server.bearer("team_leader", "lead-1"), server.bearer("agent", "north-05")
        async with aiohttp.ClientSession() as http:
            # publishing: team leaders and up; bad definitions refused naming the element, nothing published
            status, refused = await _call(http, "POST", base + DEFS, agent, move_contract())
            assert (status, refused["error_id"]) == (403, "role.forbidden")
            bad_gateway = move_contract()
            del bad_gateway["elements"][3]["default"]
            bad_field = move_contract()
            bad_field["elements"][1]["form"]["fields"][0]["type"] = "colour"
            orphan = move_contract()
            orphan["elements"].append({"id": "lost", "type": "user_task", "form": {"fields": [
                {"name": "x", "type": "text"}]}, "next": "done"})  # fmt: skip
            for document, error_id, element in ((bad_gateway, "sop.no_default_path", "owing"),
                                                (bad_field, "sop.unknown_field_type", "address"),
                                                (orphan, "sop.unreachable", "lost")):  # fmt: skip
                status, refused = await _call(http, "POST", base + DEFS, lead, document)
                assert (status, refused["error_id"], refused["details"]["element"]) == (400, error_id, element)
            assert (await _call(http, "GET", base + DEFS, agent))[1] == {"definitions": []}
            async with http.post(base + DEFS, data=yaml.safe_dump(move_contract()), headers={
                    **lead, "Content-Type": "application/yaml"}) as r:  # fmt: skip
                assert r.status == 201, await r.text()
                assert (await r.json())["version"] == 1

            # an agent starts one; the web channel shows its own variant of the form
            status, run = await _call(
                http,
                "POST",
                base + RUNS,
                agent,
                {"key": "gas-move", "call_id": "call-1", "data": {"customer_number": number}},
            )
            assert status == 201 and run["version"] == 1 and run["task"]["element"] == "address", run
            assert [f["name"] for f in run["task"]["form"]] == ["street", "move_date", "note"]
            one = f"{base}{RUNS}/{run['id']}"
            web_view = (await _call(http, "GET", one + "?channel=web", agent))[1]
            assert [f["name"] for f in web_view["task"]["form"]] == ["street", "move_date"]

            # version 2 is published; the running instance keeps version 1, a new one gets version 2
            status, v2 = await _call(http, "POST", base + DEFS, lead, move_contract("Move (v2)", extra_task=True))
            assert (status, v2["version"]) == (201, 2)
            assert (await _call(http, "GET", one, agent))[1]["title"] == "Move my gas contract"
            newer = (await _call(http, "POST", base + RUNS, agent, {"key": "gas-move"}))[1]
            assert (newer["version"], newer["title"]) == (2, "Move (v2)")

            # bad submits: refused naming the field, the instance unchanged
            before = (await _call(http, "GET", one, agent))[1]
            for body, field in (({"element": "address", "data": {"street": "Main St 1", "move_date": "soon"}},
                                 "move_date"),
                                ({"element": "address", "data": {"move_date": "2027-01-10"}}, "street"),
                                ({"element": "address", "data": {"street": "x", "move_date": "2027-01-10",
                                                                 "pin": "1234"}}, "pin")):  # fmt: skip
                status, refused = await _call(http, "POST", one + "/submit", agent, body)
                assert (status, refused["error_id"], refused["details"]["field"]) == (
                    400, "sop.invalid_submission", field), refused  # fmt: skip
            status, refused = await _call(http, "POST", one + "/submit", agent, {"element": "confirm", "data": {}})
            assert (status, refused["error_id"]) == (409, "sop.not_waiting")
            status, refused = await _call(http, "POST", one + "/rollback", agent, {"to": "start"})
            assert (status, refused["error_id"], refused["details"]["element"]) == (409, "sop.bad_rollback", "start")
            assert (await _call(http, "GET", one, agent))[1] == before

            # a good submit runs the service task on the real back office and the gateway picks the path
            address = {"street": "Main St 1", "move_date": "2027-01-10"}
            status, moved = await _call(
                http,
                "POST",
                one + "/submit",
                agent,
                {"element": "address", "data": address, "revision": before["revision"]},
            )
            assert status == 200, moved
            arrears = moved["data"]["arrears"]
            assert isinstance(arrears, int | float)
            assert moved["task"]["element"] == ("settle" if arrears > 0 else "confirm")
            assert moved["path"][:5] == ["start", "address", "bill", "owing", moved["task"]["element"]]

            # roll back to the address: its data restored, then on again to the end
            status, back = await _call(http, "POST", one + "/rollback", agent, {"to": "address"})
            assert status == 200 and back["task"]["element"] == "address"
            assert back["data"] == {"customer_number": number}
            await _call(http, "POST", one + "/submit", agent, {"element": "address", "data": address})
            if arrears > 0:
                await _call(http, "POST", one + "/submit", agent, {"element": "settle", "data": {"agreed": True}})
            status, done = await _call(
                http, "POST", one + "/submit", agent, {"element": "confirm", "data": {"confirmed": True}}
            )
            assert (status, done["status"], done["outcome"], done["task"]) == (200, "completed", "moved", None)

            # cancel; nothing moves a cancelled instance
            other = f"{base}{RUNS}/{newer['id']}"
            assert (await _call(http, "POST", other + "/cancel", agent, {"reason": "customer_hung_up"}))[1][
                "status"] == "cancelled"  # fmt: skip
            status, refused = await _call(http, "POST", other + "/submit", agent, {"element": "address", "data": {}})
            assert (status, refused["error_id"]) == (409, "sop.finished")
            status, refused = await _call(http, "GET", f"{base}{RUNS}/999", agent)
            assert (status, refused["error_id"]) == (404, "sop.unknown")

            history = (await _call(http, "GET", one + "/history", agent))[1]["history"]
    events = [(h["event"], h["element"]) for h in history]
    expected = [("start", None), ("submit", "address"), ("resolved", "bill"), ("rollback", "address"),
                ("submit", "address"), ("resolved", "bill")]  # fmt: skip
    expected += [("submit", "settle")] if arrears > 0 else []
    assert events == [*expected, ("submit", "confirm")]
    assert [h["seq"] for h in history] == list(range(1, len(history) + 1))
    assert all(h["actor"] in ("north-05", "resources") for h in history)

    # a restart on the same database: the instances are all there, as they were
    async for server in serve(url, parts=_parts(backoffice)):
        async with aiohttp.ClientSession() as http:
            again = (await _call(http, "GET", f"{server.url}{RUNS}/{run['id']}", server.bearer("agent")))[1]
            assert (again["status"], again["version"], again["outcome"]) == ("completed", 1, "moved")


async def test_sop_flows_through_the_api_on_sqlite(db_url: str, backoffice_url: str) -> None:  # noqa: F811
    await _scenario(db_url, backoffice_url)


@pytest.mark.postgres
async def test_sop_flows_through_the_api_on_postgresql(postgres_url: str, backoffice_url: str) -> None:  # noqa: F811
    url = await create_database(postgres_url)
    try:
        await _scenario(url, backoffice_url)
    finally:
        await drop_database(postgres_url, url)


async def test_an_instance_survives_a_restart_mid_flow_and_its_timer_fires_on_the_clock(
    db_url: str,
    backoffice_url: str,  # noqa: F811
) -> None:
    clock = ManualClock()
    document = {"key": "callback", "elements": [
        {"id": "start", "type": "start", "next": "note"},
        {"id": "note", "type": "user_task", "form": {"fields": [{"name": "topic", "type": "text"}]}, "next": "wait"},
        {"id": "wait", "type": "timer", "after_s": 600, "next": "call"},
        {"id": "call", "type": "user_task", "form": {"fields": [{"name": "reached", "type": "boolean"}]},
         "next": "end"},
        {"id": "end", "type": "end"}]}  # fmt: skip
    async for server in serve(db_url, clock=clock, parts=_parts(backoffice_url, clock)):
        lead, agent = server.bearer("team_leader"), server.bearer("agent")
        async with aiohttp.ClientSession() as http:
            assert (await _call(http, "POST", server.url + DEFS, lead, document))[0] == 201
            run = (await _call(http, "POST", server.url + RUNS, agent, {"key": "callback"}))[1]
            one = f"{server.url}{RUNS}/{run['id']}"
            status, waiting = await _call(
                http, "POST", one + "/submit", agent, {"element": "note", "data": {"topic": "bill"}}
            )
            assert status == 200 and waiting["task"] == {"element": "wait", "type": "timer", "title": "wait",
                                                         "due_at": clock.now() + 600}  # fmt: skip
    # central restarts (same database, same clock); the timer is still due, and fires once it is
    async for server in serve(db_url, clock=clock, parts=_parts(backoffice_url, clock)):
        sop = server.parts[1]
        assert isinstance(sop, SopApi) and sop._timers is not None
        agent = server.bearer("agent")
        async with aiohttp.ClientSession() as http:
            one = f"{server.url}{RUNS}/{run['id']}"
            clock.advance(300)
            await sop._timers.drain()
            assert (await _call(http, "GET", one, agent))[1]["task"]["element"] == "wait"
            clock.advance(301)
            await sop._timers.drain()
            moved = (await _call(http, "GET", one, agent))[1]
            assert moved["task"]["element"] == "call" and moved["data"] == {"topic": "bill"}
            history = (await _call(http, "GET", one + "/history", agent))[1]["history"]
            assert [(h["event"], h["actor"]) for h in history][-1] == ("timer", "timer")
