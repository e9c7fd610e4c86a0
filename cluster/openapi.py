"""OpenAPI 3.1 documents built from the code: each role declares its HTTP operations with the
pydantic models of their bodies and the error ids they answer with; ``/openapi.json`` serves
the document. Every error body is :class:`ErrorBody` (``error_id``, ``message``, ``details``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, create_model

from cluster.cdr import CDR_COLUMNS

REF = "#/components/schemas/{model}"



TOKEN_ERRORS = {"token.invalid": 401, "token.expired": 401, "token.forged": 401, "token.malformed": 401,
                "token.wrong_kind": 401, "token.revoked": 401}
"""What a request that carries a token can be refused with (cluster.tokens)."""

class ErrorBody(BaseModel):
    """What every refusal carries: a stable id to act on, a message for people."""

    error_id: str
    message: str
    details: dict[str, Any] | None = None


class Health(BaseModel):
    model_config = ConfigDict(extra="allow")

    ok: bool
    role: str
    name: str


_CDR_TYPES: dict[str, Any] = {"text": str, "int": int, "time": float, "seconds": float, "bool": bool}
CdrRow: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "CdrRow",
    __doc__="One call detail record: what happened to a call at one site (times: epoch seconds).",
    **{name: (_CDR_TYPES[kind] | None, None) for name, kind in CDR_COLUMNS.items()},
)


class CdrPage(BaseModel):
    calls: list[CdrRow]  # type: ignore[valid-type]
    next: str | None = None  # central: the cursor of the next page (null: the last page)
    unavailable: list[str] = []  # central: sites that did not answer (the page lacks their calls)


class AuditEntryRow(BaseModel):
    """One audit entry: who (actor, role) did what (action) to what (target), when, at which site;
    ``hash`` chains it to the site's entry before it."""

    id: int
    at: float
    site: str
    actor: str
    role: str
    action: str
    target: str | None = None
    details: dict[str, Any] = {}
    hash: str


class AuditPage(BaseModel):
    entries: list[AuditEntryRow]
    next: str | None = None  # the cursor of the next page (null: the last page)
    unavailable: list[str] = []  # central: sites that did not answer (the page lacks their entries)


COMMON_ERRORS = {
    "request.malformed_json": 400,
    "request.too_large": 413,
    "http.404": 404,
    "http.405": 405,
}


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    request: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    content: str = "application/json"
    errors: dict[str, int] = field(default_factory=dict)


class ApiDoc:
    def __init__(self, title: str, version: str, description: str = "") -> None:
        self.title = title
        self.version = version
        self.description = description
        self.operations: list[Operation] = []
        self.op("get", "/healthz", "liveness and role (the same body with 503 while not ready)", response=Health)
        self.op("get", "/metrics", "Prometheus metrics", content="text/plain")
        self.op("get", "/openapi.json", "this document", content="application/json")

    def op(self, method: str, path: str, summary: str, **kwargs: Any) -> None:
        self.operations.append(Operation(method.lower(), path, summary, **kwargs))

    def errors_of(self, method: str, path: str) -> dict[str, int]:
        for operation in self.operations:
            if (operation.method, operation.path) == (method.lower(), path):
                return {**COMMON_ERRORS, **operation.errors}
        raise KeyError(f"{method} {path} is not documented")

    def document(self) -> dict[str, Any]:
        schemas: dict[str, Any] = {}

        def ref(model: type[BaseModel]) -> dict[str, Any]:
            schema = model.model_json_schema(ref_template=REF)
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
            return {"$ref": REF.format(model=model.__name__)}

        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            body: dict[str, Any] = {"description": "ok"}
            if op.response is not None:
                body["content"] = {op.content: {"schema": ref(op.response)}}
            elif op.content != "application/json" or op.path == "/openapi.json":
                body["content"] = {op.content: {"schema": {}}}
            responses: dict[str, Any] = {str(op.status): body}
            by_status: dict[int, list[str]] = {}
            for error_id, status in {**COMMON_ERRORS, **op.errors}.items():
                by_status.setdefault(status, []).append(error_id)
            for status, ids in sorted(by_status.items()):
                responses[str(status)] = {
                    "description": "error ids: " + ", ".join(sorted(ids)),
                    "content": {"application/json": {"schema": ref(ErrorBody)}},
                    "x-error-ids": sorted(ids),
                }
            entry: dict[str, Any] = {"summary": op.summary, "responses": responses}
            params = [part[1:-1] for part in op.path.split("/") if part.startswith("{")]
            if params:
                entry["parameters"] = [
                    {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params
                ]
            if op.request is not None:
                entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(op.request)}}}
            paths.setdefault(op.path, {})[op.method] = entry
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version, "description": self.description},
            "paths": paths,
            "components": {"schemas": schemas},
        }

    def install(self, app: web.Application) -> None:
        document = self.document()

        async def serve(_: web.Request) -> web.Response:
            return web.json_response(document)

        app.router.add_get("/openapi.json", serve)
