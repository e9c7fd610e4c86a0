"""HTTP plumbing shared by every process: JSON errors with stable ids, size limits,
``/healthz`` and Prometheus ``/metrics``, and a server owner with clear port errors."""

from __future__ import annotations

import errno
import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from cluster.errors import BadRequest, CallCenterError
from cluster.limits import MAX_DEPTH, nesting_depth
from cluster.logs import log
from cluster.tls import ServerTls

_log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter(
    "cc_http_requests_total", "HTTP requests served", ["route", "status"]
)
HTTP_LATENCY = Histogram(
    "cc_http_request_seconds", "HTTP request latency", ["route"],
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(error: CallCenterError) -> web.Response:
    """The error as JSON; one that says when to retry (``retry_after_s``) also as ``Retry-After``."""
    retry = error.details.get("retry_after_s")
    headers = {"Retry-After": str(max(1, math.ceil(float(retry))))} if isinstance(retry, int | float) else None
    return web.json_response(error.to_dict(), status=error.status, headers=headers)


PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "media-src 'self' blob: mediastream:; connect-src 'self' http: https: ws: wss:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _secure_headers(response: web.StreamResponse) -> None:
    """Every answer: no MIME sniffing, no referrer, a strict CSP (what matters for the pages;
    harmless elsewhere, and files' types are only known once they are sent), never framed."""
    if response.prepared:  # a stream (WebSocket, server-sent events) has sent its headers
        return
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "?"
    with HTTP_LATENCY.labels(route).time():
        try:
            response = await handler(request)
        except CallCenterError as exc:
            response = error_response(exc)
        except web.HTTPRequestEntityTooLarge as exc:
            too_large = BadRequest(f"request body too large: {exc.text}", error_id="request.too_large", status=413)
            response = error_response(too_large)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = error_response(
                CallCenterError(exc.reason, error_id=f"http.{exc.status}", status=exc.status)
            )
        except Exception:
            log(_log, logging.ERROR, "unhandled error", route=route, exc_info=True)
            response = error_response(CallCenterError("internal error; see the server log"))
    HTTP_REQUESTS.labels(route, str(response.status)).inc()
    _secure_headers(response)
    return response


async def read_json(request: web.Request, *, max_bytes: int | None = None) -> dict[str, Any]:
    """The request body as a JSON object, or a :class:`BadRequest` with a stable id.

    Only ``Content-Type: application/json`` is read: a cross-site "simple" request (a form, a
    text/plain POST) never reaches a handler. Containers nest at most ``MAX_DEPTH`` deep."""
    if request.content_type != "application/json":
        raise BadRequest(
            f"send the body as Content-Type: application/json (got {request.content_type or 'none'})",
            error_id="request.content_type",
            status=415,
        )
    if max_bytes is not None and request.content_length is not None and request.content_length > max_bytes:
        raise BadRequest(f"request body too large (limit {max_bytes} bytes)", error_id="request.too_large", status=413)
    raw = await request.read()
    if max_bytes is not None and len(raw) > max_bytes:
        raise BadRequest(f"request body too large (limit {max_bytes} bytes)", error_id="request.too_large", status=413)
    try:
        body = json.loads(raw or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}", error_id="request.malformed_json") from exc
    except RecursionError as exc:
        raise BadRequest(f"body nests deeper than {MAX_DEPTH} levels", error_id="request.malformed_json") from exc
    if nesting_depth(body) > MAX_DEPTH:
        raise BadRequest(f"body nests deeper than {MAX_DEPTH} levels", error_id="request.malformed_json")
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object", error_id="request.malformed_json")
    return body


async def _metrics(_: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def make_app(
    health: Callable[[], dict[str, Any]], *, max_body_bytes: int = 64 * 1024, metrics: bool = True
) -> web.Application:
    """An aiohttp app with the error middleware, ``/healthz`` and (unless ``metrics`` is
    served by a separate listener, :func:`metrics_app`) ``/metrics``."""
    app = web.Application(middlewares=[error_middleware], client_max_size=max_body_bytes)

    async def healthz(_: web.Request) -> web.Response:
        status = health()
        return web.json_response(status, status=200 if status.get("ok", True) else 503)

    app.router.add_get("/healthz", healthz)
    if metrics:
        app.router.add_get("/metrics", _metrics)
    return app


def metrics_app() -> web.Application:
    """Only ``/metrics``: the app of the internal metrics listener (``<role>.metrics.port``)."""
    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/metrics", _metrics)
    return app


class HttpServer:
    """Owns an aiohttp runner: ``start()`` binds (clear error if the port is taken), ``stop()``.

    With ``tls`` the listener speaks only TLS (``https``/``wss``). ``header_timeout_s`` is
    aiohttp's keep-alive timeout, which since 3.10 also runs from the connection's start until a
    whole request head has arrived: a client dripping header bytes (slowloris) is closed then."""

    def __init__(
        self,
        app: web.Application,
        host: str,
        port: int,
        *,
        port_flag: str,
        tls: ServerTls | None = None,
        header_timeout_s: float = 5.0,
    ) -> None:
        self._app = app
        self.host = host
        self.port = port
        self._port_flag = port_flag
        self._tls = tls
        self._header_timeout_s = header_timeout_s
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://{self.host}:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(
            self._app, access_log=None, handle_signals=False, keepalive_timeout=self._header_timeout_s
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self._tls.context if self._tls else None)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            if exc.errno == errno.EADDRINUSE:
                raise CallCenterError(
                    f"port {self.port} on {self.host} is already in use; choose another with {self._port_flag}",
                    error_id="http.port_in_use",
                ) from exc
            raise
        if self.port == 0:
            server = site._server  # the bound socket tells the real port
            sockets = getattr(server, "sockets", None) or []
            if sockets:
                self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
