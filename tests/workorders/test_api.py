"""The work-order API on a real central node (real etcd, real SQLite file, real HTTP), with the
CRM plugged in: the order and its resolution notice land in the customer's contact history, and
the notice respects the customer's consent flags."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import aiohttp

from central.config import CentralSettings
from central.node import CentralNode
from cluster.config import load_settings
from cluster.keys import Keyspace
from cluster.tokens import TokenSigner


async def test_work_orders_over_http(etcd_endpoints: list[str], keyspace: Keyspace, tmp_path: Path) -> None:
    secret = secrets.token_urlsafe(48)
    settings = load_settings(
        environ={},
        model=CentralSettings,
        overrides={
            "etcd": {"endpoints": etcd_endpoints, "prefix": keyspace.prefix, "lease_ttl_s": 2},
            "central": {"name": "central-wo", "http": {"port": 0}},
            "business": {"data_dir": str(tmp_path)},
            "tokens": {"secret": secret},
        },
    )
    signer = TokenSigner(secret, ttl_s=600)

    def as_(role: str, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {signer.issue('agent', who, role=role)}"}

    agent, leader, compliance = as_("agent", "north-01"), as_("team_leader", "north-tl"), as_("compliance", "c-1")
    node = CentralNode(settings)
    await node.start()
    try:
        async with aiohttp.ClientSession(node.url) as http:

            async def call(method: str, path: str, headers: dict[str, str], expect: int, **kw: Any) -> Any:
                async with http.request(method, path, headers=headers, **kw) as r:
                    body = await (r.json() if r.content_type == "application/json" else r.read())
                    assert r.status == expect, body
                    return body

            dept = {"id": "gas-repair", "name": "Gas repair", "members": ["crew-1"], "escalate_to": "queue:dispatch"}
            denied = await call("POST", "/v1/departments", agent, 403, json=dept)
            assert denied["error_id"] == "role.forbidden"
            assert (await call("POST", "/v1/departments", leader, 201, json=dept))["members"] == ["crew-1"]
            assert [d["id"] for d in (await call("GET", "/v1/departments", agent, 200))["departments"]] == [
                "gas-repair"
            ]
            assert (await call("GET", "/v1/workorders", compliance, 403))["error_id"] == "role.forbidden"

            customer = {"customer_number": "C1001", "name": "Li Na", "phones": ["+8613800000000"],
                        "emails": ["li.na@example.cn"], "may_sms": True, "may_email": False}  # fmt: skip
            await call("POST", "/v1/customers", leader, 201, json=customer)
            order = {
                "type": "emergency",
                "priority": "urgent",
                "department": "nowhere",
                "subject": "gas smell",
                "customer_number": "C1001",
                "call_ids": ["call-7"],
                "contact_phone": "+8613800000000",
                "contact_email": "li.na@example.cn",
                "contact_consent": True,
                "language": "zh",
            }
            bad = await call("POST", "/v1/workorders", agent, 400, json=order)
            assert bad["error_id"] == "workorder.unknown_department"
            bad = await call("POST", "/v1/workorders", agent, 400, json={**order, "type": "praise"})
            assert bad["error_id"] == "workorder.unknown_type"
            stranger = {**order, "department": "gas-repair", "customer_number": "C404"}
            bad = await call("POST", "/v1/workorders", agent, 400, json=stranger)
            assert bad["error_id"] == "workorder.unknown_customer"
            assert (await call("GET", "/v1/workorders", agent, 200))["workorders"] == []
            bad = await call("GET", "/v1/workorders?status=lost", agent, 400)
            assert bad["error_id"] == "workorder.unknown_status"

            created = await call("POST", "/v1/workorders", agent, 201, json={**order, "department": "gas-repair"})
            oid = created["id"]
            assert (created["status"], created["created_by"], created["call_ids"]) == ("new", "north-01", ["call-7"])
            wrong = await call("POST", f"/v1/workorders/{oid}/transitions", agent, 409, json={"event": "resolve"})
            assert wrong["error_id"] == "workorder.transition_not_allowed"
            for step in ({"event": "assign", "assignee": "crew-1"}, {"event": "start"}):
                await call("POST", f"/v1/workorders/{oid}/transitions", agent, 200, json=step)
            await call("POST", f"/v1/workorders/{oid}/comments", agent, 201, json={"body": "crew on the way"})
            attached = await call(
                "POST",
                f"/v1/workorders/{oid}/attachments?name=photo.jpg",
                {**agent, "Content-Type": "image/jpeg"},
                201,
                data=b"\xff\xd8jpeg",
            )
            sha = attached["attachments"][0]["sha256"]
            assert await call("GET", f"/v1/workorders/{oid}/attachments/{sha}", agent, 200) == b"\xff\xd8jpeg"
            await call("POST", f"/v1/workorders/{oid}/transitions", agent, 200, json={"event": "resolve"})

            mine = await call("GET", "/v1/workorders?assignee=crew-1&status=resolved&customer=C1001", agent, 200)
            assert [o["id"] for o in mine["workorders"]] == [oid]
            full = await call("GET", f"/v1/workorders/{oid}", agent, 200)
            assert [h["to_status"] for h in full["history"]] == ["new", "assigned", "in_progress", "resolved"]
            assert [c["body"] for c in full["comments"]] == ["crew on the way"]
            # SMS: the customer may get SMS; e-mail: the CRM says may_email is off, so it is not sent
            assert [(n["channel"], n["status"], n["template"], n["language"]) for n in full["notifications"]] == [
                ("sms", "sent", "workorder_resolved", "zh"),
                ("email", "suppressed", "workorder_resolved", "zh"),
            ]
            assert "address" not in full["notifications"][0]
            mine = (await call("GET", f"/v1/notifications?customer=C1001&reference={oid}", agent, 200))["notifications"]
            assert [n["status"] for n in mine] == ["sent", "suppressed"] and "body" not in mine[0]
            assert (await call("GET", "/v1/notifications", agent, 400))["error_id"] == "workorder.bad_field"

            # the customer's one timeline (the CRM's history API), newest first
            timeline = (await call("GET", "/v1/customers/C1001/history", agent, 200))["entries"]
            seen = [(e["kind"], e["details"].get("event") or e["details"].get("channel")) for e in timeline]
            assert sorted(seen) == sorted(
                [("work_order", "created"), ("work_order", "resolved"), ("notification", "sms"),
                 ("notification", "email")]
            )  # fmt: skip
            by_kind = {(e["kind"], e["details"].get("event") or e["details"]["channel"]): e for e in timeline}
            assert by_kind[("work_order", "created")]["details"]["order_id"] == oid
            assert by_kind[("work_order", "resolved")]["details"]["status"] == "resolved"
            assert by_kind[("notification", "sms")]["details"]["status"] == "sent"
            assert by_kind[("notification", "email")]["details"]["status"] == "suppressed"
            assert timeline[-1]["details"]["event"] == "created"  # the oldest last
            text = repr(timeline)
            assert "+8613800000000" not in text and "li.na@example.cn" not in text  # no addresses shown
            only_orders = (await call("GET", "/v1/customers/C1001/history?kind=work_order", agent, 200))["entries"]
            assert {e["kind"] for e in only_orders} == {"work_order"}
            missing = await call("GET", "/v1/workorders/WO-NOPE", agent, 404)
            assert missing["error_id"] == "workorder.not_found"
    finally:
        await node.stop()
    assert (tmp_path / "business.db").exists()
