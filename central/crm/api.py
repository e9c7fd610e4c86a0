"""The customers API of central (any replica serves it; every action role-checked, views audited).

GET    /v1/customers?name=&phone=&customer_number=&last_four=&segment=&active=&limit=&cursor=
POST   /v1/customers                              create (customers.write)
GET    /v1/customers/lookup?phone=|account=|customer_number=   call-time identification
GET    /v1/customers/export?segment=&active=      CSV (customers.export, administrators)
POST   /v1/customers/import?dry_run=1&format=csv|xlsx   file body (customers.import)
GET    /v1/customers/{number}                     one customer (audited view)
PATCH  /v1/customers/{number}                     edit (customers.write)
POST   /v1/customers/{number}/deactivate          (customers.write)
POST   /v1/customers/{number}/merge   {duplicate} history moves to {number} (customers.write)
POST   /v1/customers/{number}/accounts {account_number, kind, currency} stored masked + hashed
PUT    /v1/customers/{number}/pin     {pin}      set / reset (customers.write)
POST   /v1/customers/{number}/pin/change {old_pin, new_pin}   (customers.read: IVR, agent)
POST   /v1/customers/{number}/pin/verify {pin}    -> {ok}
GET    /v1/customers/{number}/history?limit=&cursor=&kind=   newest first, paged
POST   /v1/customers/{number}/history {kind, at, site, ref, details}  (customers.history)
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web

from central.business.config import BusinessConfig
from central.business.db import BusinessDb
from central.business.http import ServiceGate
from central.crm.audit import AuditBuffer
from central.crm.errors import BadImport, InvalidField
from central.crm.importer import csv_rows, export_csv, import_rows, xlsx_rows
from central.crm.lookup import LookupCache
from central.crm.seed import seed_demo_customers
from central.crm.service import CrmService
from central.crm.store import CrmStore
from cluster.clock import SYSTEM_CLOCK, Clock
from cluster.http import read_json
from cluster.tokens import TokenSigner

MAX_IMPORT_BYTES = 512 * 1024 * 1024
_WHY = {
    "customers.read": "only the center's call roles read customers",
    "customers.write": "only team leaders, managers and administrators change customers",
    "customers.history": "only the center's call roles add to a contact history",
    "customers.import": "only administrators import customers",
    "customers.export": "only administrators export customers",
}


class CrmApi:
    """The one wiring point of the CRM: ``install`` adds the routes and the database's lifecycle."""

    def __init__(self, config: BusinessConfig, signer: TokenSigner, *, replica: str, max_body_bytes: int,
                 clock: Clock = SYSTEM_CLOCK) -> None:  # fmt: skip
        self.config = config
        self.gate: ServiceGate[CrmService] = ServiceGate(signer, _WHY, unavailable_id="crm.unavailable")
        self.replica = replica
        self.max_body = max_body_bytes
        self.clock = clock
        self.db: BusinessDb | None = None
        self._owns_db = False
        self.audit: AuditBuffer | None = None

    async def start(self, db: BusinessDb | None = None) -> None:
        """Serve from ``db`` (central's business wiring opens it once); without one, open its own."""
        self._owns_db = db is None
        self.db = db if db is not None else await BusinessDb.open(self.config)
        store = CrmStore(self.db.sessions, self.db.reads, LookupCache(self.clock))
        if self.config.seed_demo:
            await seed_demo_customers(self.db.sessions, self.config.account_salt.encode())
        self.audit = AuditBuffer(store, replica=self.replica)
        self.audit.start()
        self.gate.service = CrmService(store, self.audit, self.clock, account_salt=self.config.account_salt.encode())

    async def stop(self) -> None:
        if self.audit is not None:
            await self.audit.stop()
            self.audit = None
        if self.db is not None and self._owns_db:
            await self.db.close()
        self.db = None

    def install(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/v1/customers", self.search)
        r.add_post("/v1/customers", self.create)
        r.add_get("/v1/customers/lookup", self.lookup)
        r.add_get("/v1/customers/export", self.export)
        r.add_post("/v1/customers/import", self.import_file)
        r.add_get("/v1/customers/{number}", self.view)
        r.add_patch("/v1/customers/{number}", self.edit)
        r.add_post("/v1/customers/{number}/deactivate", self.deactivate)
        r.add_post("/v1/customers/{number}/merge", self.merge)
        r.add_post("/v1/customers/{number}/accounts", self.add_account)
        r.add_put("/v1/customers/{number}/pin", self.set_pin)
        r.add_post("/v1/customers/{number}/pin/change", self.change_pin)
        r.add_post("/v1/customers/{number}/pin/verify", self.verify_pin)
        r.add_get("/v1/customers/{number}/history", self.history)
        r.add_post("/v1/customers/{number}/history", self.add_history)

    @property
    def service(self) -> CrmService | None:
        return self.gate.service

    def _who(self, request: web.Request, action: str) -> tuple[tuple[str, str], CrmService]:
        claims, service = self.gate.enter(request, action)
        return (claims.subject, str(claims.extra.get("role", ""))), service

    def _limit(self, request: web.Request) -> int:
        raw = request.query.get("limit", "20")
        if not raw.isdigit() or not 1 <= int(raw) <= self.config.max_page:
            raise InvalidField(f"limit: 1 to {self.config.max_page}", field="limit")
        return int(raw)

    async def search(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "customers.read")
        q = request.query
        cursor = q.get("cursor", "0")
        if not cursor.isdigit():
            raise InvalidField("cursor: pass back the 'next' of the previous page", field="cursor")
        active = {"": True, "true": True, "false": False, "all": None}.get(q.get("active", ""), True)
        limit = self._limit(request)
        found = await service.search(who, name=q.get("name"), phone=q.get("phone"), number=q.get("customer_number"),
                                     last_four=q.get("last_four"), segment=q.get("segment"), active=active,
                                     after=int(cursor), limit=limit + 1)  # fmt: skip
        page = found[:limit]
        more = len(found) > limit
        return web.json_response({"customers": [_public(c) for c in page],
                                  "next": str(page[-1]["_id"]) if more and page else None})  # fmt: skip

    async def lookup(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "customers.read")
        q = request.query
        found = await service.lookup(who, phone=q.get("phone"), account=q.get("account"),
                                     number=q.get("customer_number"))  # fmt: skip
        return web.json_response({"customers": [_public(c) for c in found]})

    async def create(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "customers.write")
        view = await service.create(who, await read_json(request, max_bytes=self.max_body))
        return web.json_response(_public(view), status=201)

    async def view(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "customers.read")
        return web.json_response(_public(await service.view(who, request.match_info["number"])))

    async def edit(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "customers.write")
        body = await read_json(request, max_bytes=self.max_body)
        return web.json_response(_public(await service.edit(who, request.match_info["number"], body)))

    async def deactivate(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "customers.write")
        return web.json_response(_public(await service.deactivate(who, request.match_info["number"])))

    async def merge(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "customers.write")
        body = await read_json(request, max_bytes=self.max_body)
        duplicate = body.get("duplicate")
        if not isinstance(duplicate, str) or not duplicate:
            raise InvalidField("duplicate: the customer number to merge into this one", field="duplicate")
        return web.json_response(_public(await service.merge(who, request.match_info["number"], duplicate)))

    async def add_account(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "customers.write")
        body = await read_json(request, max_bytes=self.max_body)
        full, kind = body.get("account_number"), body.get("kind", "current")
        if not isinstance(full, str) or not isinstance(kind, str):
            raise InvalidField("account_number and kind: strings", field="account_number")
        view = await service.add_account(
            who, request.match_info["number"], full, kind, str(body.get("currency", "EUR"))[:3]
        )
        return web.json_response(view, status=201)

    async def set_pin(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "customers.write")
        body = await read_json(request, max_bytes=self.max_body)
        await service.set_pin(who, request.match_info["number"], body.get("pin"))
        return web.json_response({"customer_number": request.match_info["number"], "has_pin": True})

    async def change_pin(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "customers.read")
        body = await read_json(request, max_bytes=self.max_body)
        await service.change_pin(who, request.match_info["number"], body.get("old_pin"), body.get("new_pin"))
        return web.json_response({"customer_number": request.match_info["number"], "has_pin": True})

    async def verify_pin(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "customers.read")
        body = await read_json(request, max_bytes=self.max_body)
        return web.json_response({"ok": await service.verify_pin(who, request.match_info["number"], body.get("pin"))})

    async def history(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "customers.read")
        before = _history_cursor(request.query.get("cursor"))
        limit = self._limit(request)
        entries = await service.history(who, request.match_info["number"], before=before, limit=limit + 1,
                                        kind=request.query.get("kind"))  # fmt: skip
        page = entries[:limit]
        last = page[-1] if page and len(entries) > limit else None
        return web.json_response({"entries": page, "next": f"{last['at']!r}|{last['id']}" if last else None})

    async def add_history(self, request: web.Request) -> web.Response:
        who, service = self._who(request, "customers.history")
        body = await read_json(request, max_bytes=self.max_body)
        return web.json_response(await service.add_history(who, request.match_info["number"], body), status=201)

    async def import_file(self, request: web.Request) -> web.Response:
        _who, service = self._who(request, "customers.import")
        fmt = request.query.get("format", "csv")
        if fmt not in ("csv", "xlsx"):
            raise InvalidField("format: csv or xlsx", field="format")
        with tempfile.TemporaryDirectory(prefix="crm-import-") as tmp:
            path = Path(tmp) / f"upload.{fmt}"
            size = 0
            with path.open("wb") as out:
                async for chunk in request.content.iter_chunked(1 << 16):
                    size += len(chunk)
                    if size > MAX_IMPORT_BYTES:
                        raise BadImport(f"file larger than {MAX_IMPORT_BYTES} bytes", status=413)
                    out.write(chunk)
            dry_run = request.query.get("dry_run", "") in ("1", "true", "yes")
            if fmt == "xlsx":
                report = await import_rows(service.store, self.clock, xlsx_rows(path), dry_run=dry_run)
            else:
                try:
                    with path.open(encoding="utf-8-sig", newline="") as lines:
                        report = await import_rows(service.store, self.clock, csv_rows(lines), dry_run=dry_run)
                except UnicodeDecodeError as exc:
                    raise BadImport("the file is not UTF-8 text", error_id="crm.bad_encoding") from exc
        return web.json_response(report.to_dict())

    async def export(self, request: web.Request) -> web.StreamResponse:
        who, service = self._who(request, "customers.export")
        q = request.query
        active = {"": True, "true": True, "false": False, "all": None}.get(q.get("active", ""), True)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": 'attachment; filename="customers.csv"',
            }
        )
        await response.prepare(request)
        after, first, count = 0, True, 0
        while True:
            rows = await service.store.export_rows(segment=q.get("segment"), active=active, after=after, limit=2000)
            if not rows:
                break
            await response.write(export_csv(rows, header=first).encode())
            first, after, count = False, rows[-1]["_id"], count + len(rows)
        if first:
            await response.write(export_csv([], header=True).encode())
        service.audit.record(at=self.clock.now(), actor=who[0], role=who[1], action="customer_export",
                             target=None, details={"rows": count})  # fmt: skip
        await response.write_eof()
        return response


def _public(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if not k.startswith("_")}


def _history_cursor(raw: str | None) -> tuple[float, int] | None:
    if not raw:
        return None
    try:
        at, entry_id = raw.split("|", 1)
        return float(at), int(entry_id)
    except ValueError:
        raise InvalidField("cursor: pass back the 'next' of the previous page", field="cursor") from None
