"""What the CRM lends work orders and notifications (real SQLite): consent per channel, known
customers, and contact-history entries that are idempotent and never carry a full number."""

from __future__ import annotations

import aiohttp

from central.crm.hooks import CrmLinks
from tests.crm.conftest import CrmServer


async def test_consent_known_customers_and_history_entries(crm: CrmServer) -> None:
    async with aiohttp.ClientSession(crm.url) as http:
        for body in ({"customer_number": "H1", "name": "Ada", "may_sms": False, "may_email": True},
                     {"customer_number": "H2", "name": "Bo"}):  # fmt: skip
            async with http.post("/v1/customers", json=body, headers=crm.bearer("team_leader")) as r:
                assert r.status == 201, await r.text()
        async with http.post("/v1/customers/H2/deactivate", headers=crm.bearer("team_leader")) as r:
            assert r.status == 200
    assert crm.api.service is not None
    links = CrmLinks(crm.api.service.store)
    assert [await links.may_contact("H1", c) for c in ("sms", "email", "fax")] == [False, True, False]
    assert await links.may_contact("H2", "email") is False  # deactivated
    assert await links.may_contact("NOPE", "email") is False
    assert (await links.exists("H1"), await links.exists("NOPE")) == (True, False)

    entry = {"kind": "work_order", "ref": "WO-1:created", "at": 100.0, "event": "created",
             "subject": "card 4111 1111 1111 1111 stolen"}  # fmt: skip
    await links.append("H1", entry)
    await links.append("H1", {**entry, "at": 101.0})  # written again: one entry, updated
    (stored,) = await crm.api.service.store.history("H1", before=None, limit=10)
    assert (stored["kind"], stored["ref"], stored["at"]) == ("work_order", "WO-1:created", 101.0)
    assert stored["details"]["subject"] == "card ************1111 stolen"
    assert set(stored["details"]) == {"event", "subject"}
