"""CSV / XLSX import through the API: validation report, dry run, idempotent upsert, export."""

from __future__ import annotations

import io

import aiohttp
from openpyxl import Workbook

from tests.crm.conftest import CrmServer

GOOD = "customer_number,name,segment,phones,emails,may_call\n"
ROWS = (
    "K1,Zoë Weber,vip,+49 170 1234567,zoe@example.com,yes\n"
    "K2,李娜,retail,+8613911112222,,no\n"
    "K3,Bad Phone,retail,call-me,,yes\n"  # row 4: invalid phone
    "K4,Bad Segment,gold,+4930111,,yes\n"  # row 5: unknown segment
    "K1,Twice,retail,+4930222,,yes\n"  # row 6: duplicate in the file
    "K5,Too,many,columns,,,\n"  # row 7: malformed
)


async def _post(http: aiohttp.ClientSession, crm: CrmServer, body: bytes, query: str = "") -> tuple[int, dict]:  # type: ignore[type-arg]
    async with http.post(crm.url + "/v1/customers/import" + query, data=body, headers=crm.bearer("admin")) as r:
        return r.status, await r.json()


async def test_an_import_reports_bad_rows_and_stores_only_the_good_ones(crm: CrmServer) -> None:
    async with aiohttp.ClientSession() as http:
        status, dry = await _post(http, crm, (GOOD + ROWS).encode(), "?dry_run=1")
        assert status == 200 and dry["dry_run"] and dry["created"] == 2 and dry["invalid"] == 4
        assert [(e["row"], e["column"], e["error_id"]) for e in dry["errors"]] == [
            (4, "phones", "crm.invalid_phone"),
            (5, "segment", "crm.invalid_field"),
            (6, "customer_number", "crm.duplicate_customer_number"),
            (7, None, "crm.malformed_row"),
        ]
        assert await crm.api.service.store.count() == 0  # type: ignore[union-attr]  # a dry run stores nothing
        _, report = await _post(http, crm, (GOOD + ROWS).encode())
        assert (report["created"], report["updated"], report["invalid"]) == (2, 0, 4)
        _, again = await _post(http, crm, (GOOD + ROWS).encode())
        assert (again["created"], again["updated"]) == (0, 2)  # idempotent upsert by customer number
        assert await crm.api.service.store.count() == 2  # type: ignore[union-attr]
        async with http.get(crm.url + "/v1/customers?name=zoe", headers=crm.bearer("agent")) as r:
            (zoe,) = (await r.json())["customers"]
        assert zoe["phones"] == ["+491701234567"] and zoe["emails"] == ["zoe@example.com"]
        # a header naming an unknown column refuses the whole file
        status, refused = await _post(http, crm, b"customer_number,name,colour\nK9,A,red\n")
        assert (status, refused["error_id"]) == (400, "crm.unknown_column")
        # export: administrators only, CSV that imports again
        async with http.get(crm.url + "/v1/customers/export", headers=crm.bearer("team_leader")) as r:
            assert (r.status, (await r.json())["error_id"]) == (403, "role.forbidden")
        async with http.get(crm.url + "/v1/customers/export?segment=vip", headers=crm.bearer("admin")) as r:
            exported = await r.text()
        assert exported.splitlines()[0].startswith("customer_number,name") and len(exported.splitlines()) == 2
        assert "K1,Zoë Weber,vip" in exported
        _, round_trip = await _post(http, crm, exported.encode())
        assert (round_trip["updated"], round_trip["invalid"]) == (1, 0)
        async with http.post(crm.url + "/v1/customers/import", data=b"x", headers=crm.bearer("manager")) as r:
            assert (await r.json())["error_id"] == "role.forbidden"


async def test_an_xlsx_file_imports_like_a_csv(crm: CrmServer) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["customer_number", "name", "phones"])
    sheet.append(["X1", "Ana Lucía", "+34600111222"])
    sheet.append(["X2", "", "+34600111333"])  # no name
    data = io.BytesIO()
    book.save(data)
    async with aiohttp.ClientSession() as http:
        _, report = await _post(http, crm, data.getvalue(), "?format=xlsx")
    assert (report["created"], report["invalid"], report["errors"][0]["column"]) == (1, 1, "name")
