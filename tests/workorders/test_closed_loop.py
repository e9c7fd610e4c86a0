"""The closed loop through a real central node whose mail server is configured: a resolved
order for a customer who may get e-mail sends it through SMTP (a real aiosmtpd server), and the
customer's contact history shows the order and the notice with its delivery status."""

from __future__ import annotations

import secrets
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import aiohttp

from central.config import CentralSettings
from central.node import CentralNode
from cluster.config import load_settings
from cluster.keys import Keyspace
from cluster.tokens import TokenSigner
from tests.notify.smtp_server import Mailbox, smtp_server  # noqa: F401


async def test_resolution_mails_the_customer_and_shows_in_their_history(
    etcd_endpoints: list[str],
    keyspace: Keyspace,
    tmp_path: Path,
    smtp_server: tuple[Mailbox, int],  # noqa: F811
) -> None:
    mailbox, smtp_port = smtp_server
    secret = secrets.token_urlsafe(48)
    smtp = {"host": "127.0.0.1", "port": smtp_port, "sender": "service@gas.example", "start_tls": False}
    settings = load_settings(
        environ={},
        model=CentralSettings,
        overrides={
            "etcd": {"endpoints": etcd_endpoints, "prefix": keyspace.prefix, "lease_ttl_s": 2},
            "central": {"name": "central-loop", "http": {"port": 0}, "workorders": {"smtp": smtp}},
            "business": {"data_dir": str(tmp_path)},
            "tokens": {"secret": secret},
        },
    )
    signer = TokenSigner(secret, ttl_s=600)
    agent = {"Authorization": f"Bearer {signer.issue('agent', 'gas-01', role='agent')}"}
    leader = {"Authorization": f"Bearer {signer.issue('agent', 'gas-tl', role='team_leader')}"}
    node = CentralNode(settings)
    await node.start()
    try:
        async with aiohttp.ClientSession(node.url) as http:

            async def call(method: str, path: str, headers: dict[str, str], expect: int, **kw: Any) -> Any:
                async with http.request(method, path, headers=headers, **kw) as r:
                    body = await r.json()
                    assert r.status == expect, body
                    return body

            await call("POST", "/v1/customers", leader, 201, json={
                "customer_number": "G2001", "name": "Wang Fang", "emails": ["wang.fang@example.cn"],
                "may_sms": False, "may_email": True})  # fmt: skip
            await call("POST", "/v1/departments", leader, 201, json={"id": "meters", "name": "Meters",
                                                                      "members": ["crew-2"]})  # fmt: skip
            order = await call("POST", "/v1/workorders", agent, 201, json={
                "type": "complaint", "priority": "normal", "department": "meters", "subject": "meter reads high",
                "customer_number": "G2001", "assignee": "crew-2", "contact_email": "wang.fang@example.cn",
                "contact_phone": "+8613900000002", "contact_consent": True, "language": "zh"})  # fmt: skip
            oid = order["id"]
            before = (await call("GET", "/v1/customers/G2001/history", agent, 200))["entries"]
            assert [(e["kind"], e["ref"], e["details"]["event"]) for e in before] == [
                ("work_order", f"{oid}:created", "created")
            ]
            assert mailbox.received == []
            await call("POST", f"/v1/workorders/{oid}/transitions", agent, 200, json={"event": "start"})
            await call("POST", f"/v1/workorders/{oid}/transitions", agent, 200,
                       json={"event": "resolve", "note": "meter replaced"})  # fmt: skip

            (envelope,) = mailbox.received  # SMS refused by the customer's consent: e-mail only
            assert (envelope.mail_from, envelope.rcpt_tos) == ("service@gas.example", ["wang.fang@example.cn"])
            mail = message_from_bytes(envelope.original_content or b"", policy=default_policy)
            assert oid in str(mail["Subject"]) or oid in mail.get_body().get_content()  # type: ignore[union-attr]

            timeline = (await call("GET", "/v1/customers/G2001/history", agent, 200))["entries"]
            notices = {e["details"]["channel"]: e["details"] for e in timeline if e["kind"] == "notification"}
            assert (notices["email"]["status"], notices["email"]["reference"]) == ("sent", oid)
            assert notices["sms"]["status"] == "suppressed"
            resolved = [e for e in timeline if e["kind"] == "work_order" and e["details"]["event"] == "resolved"]
            assert resolved[0]["details"]["note"] == "meter replaced"
            assert "wang.fang@example.cn" not in repr(timeline)
    finally:
        await node.stop()
