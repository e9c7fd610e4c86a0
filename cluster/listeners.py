"""A process's listeners: the public HTTP/WebSocket server and, when ``<role>.metrics.port``
is set, a separate ``/metrics`` server (so it can stay internal). Both use the process's TLS
(``tls.cert_file``/``key_file``); SIGHUP reloads the certificate into the live context.

    listeners = Listeners(app, settings.site.http, settings.site.metrics, settings.tls, role="site")
    await listeners.start()      # binds both; SIGHUP -> ServerTls.reload()
    listeners.url                # https://host:port with TLS
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from aiohttp import web

from cluster.config import HttpConfig, MetricsConfig, TlsConfig
from cluster.http import HttpServer, metrics_app
from cluster.tls import ServerTls


def serves_metrics_publicly(metrics: MetricsConfig) -> bool:
    """``/metrics`` is on the public listener only while no metrics listener is configured."""
    return metrics.port is None


class Listeners:
    def __init__(
        self, app: web.Application, http: HttpConfig, metrics: MetricsConfig, tls: TlsConfig, *, role: str
    ) -> None:
        env = f"CC_{role.upper()}"
        self.tls = ServerTls.from_config(tls)
        self.public = HttpServer(
            app, http.host, http.port, port_flag=f"--port or {env}__HTTP__PORT", tls=self.tls,
            header_timeout_s=http.header_timeout_s,
        )
        self.metrics: HttpServer | None = None
        if metrics.port is not None:
            self.metrics = HttpServer(
                metrics_app(), metrics.host, metrics.port, port_flag=f"{env}__METRICS__PORT",
                tls=self.tls, header_timeout_s=http.header_timeout_s,
            )
        self._sighup = False

    @property
    def url(self) -> str:
        return self.public.url

    async def start(self) -> None:
        await self.public.start()
        if self.metrics is not None:
            try:
                await self.metrics.start()
            except BaseException:
                await self.public.stop()
                raise
        if self.tls is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
                asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.tls.reload)
                self._sighup = True

    async def stop(self) -> None:
        if self._sighup:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._sighup = False
        if self.metrics is not None:
            await self.metrics.stop()
        await self.public.stop()
