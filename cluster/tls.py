"""TLS for every HTTP and WebSocket listener, and the clients that talk to them.

The ``tls`` section (shared by centrals and sites) names PEM files::

    tls.cert_file / tls.key_file   this process's certificate (chain) and key: listeners use TLS
    tls.ca_file                    the CA the cluster's clients trust (central -> site, health waits)

:class:`ServerTls` owns one :class:`ssl.SSLContext` for all of a process's listeners;
:meth:`ServerTls.reload` loads the files again into the same live context (SIGHUP), so new
handshakes get the new certificate without a restart. :func:`client_ssl` is what every client
in the repository passes to aiohttp/urllib: a context trusting ``ca_file`` (or
``CC_TLS__CA_FILE``), else the system's CAs.
"""

from __future__ import annotations

import logging
import os
import ssl
from pathlib import Path

import aiohttp

from cluster.config import TlsConfig
from cluster.errors import ConfigError
from cluster.logs import log

_log = logging.getLogger(__name__)

CA_ENV = "CC_TLS__CA_FILE"
CLIENT_KEEPALIVE_S = 3.0


class ServerTls:
    """The server side of TLS for one process: one context, reloadable in place."""

    def __init__(self, cert_file: Path, key_file: Path) -> None:
        self.cert_file = cert_file
        self.key_file = key_file
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.reloads = 0
        self._load()

    @classmethod
    def from_config(cls, config: TlsConfig) -> ServerTls | None:
        if config.cert_file is None or config.key_file is None:
            return None
        return cls(config.cert_file, config.key_file)

    def _load(self) -> None:
        try:
            self.context.load_cert_chain(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"tls.cert_file / tls.key_file ({self.cert_file}, {self.key_file}) cannot be loaded: {exc}",
                error_id="config.bad_value",
                key="tls.cert_file",
            ) from exc

    def reload(self) -> bool:
        """Load the files again into the live context; a bad pair keeps the old one (logged)."""
        try:
            self._load()
        except ConfigError as exc:
            log(_log, logging.ERROR, "TLS reload failed; keeping the current certificate", reason=str(exc))
            return False
        self.reloads += 1
        log(_log, logging.INFO, "TLS certificate reloaded", cert_file=str(self.cert_file), reloads=self.reloads)
        return True


def client_ssl(ca_file: str | Path | None = None) -> ssl.SSLContext:
    """A client context trusting ``ca_file`` (default: ``CC_TLS__CA_FILE``), else the system CAs."""
    ca = ca_file if ca_file is not None else os.environ.get(CA_ENV) or None
    return ssl.create_default_context(cafile=str(ca) if ca is not None else None)


def client_session(ca_file: str | Path | None = None, *, limit: int = 100,
                   timeout: aiohttp.ClientTimeout | None = None) -> aiohttp.ClientSession:
    """An aiohttp session whose ``https``/``wss`` connections trust :func:`client_ssl`'s CAs.

    Idle pooled connections are dropped after ``CLIENT_KEEPALIVE_S``, before our servers close
    idle ones (``http.header_timeout_s``, 5 s by default), so a request never goes out on a
    connection the server is closing."""
    connector = aiohttp.TCPConnector(ssl=client_ssl(ca_file), limit=limit, keepalive_timeout=CLIENT_KEEPALIVE_S)
    if timeout is None:
        return aiohttp.ClientSession(connector=connector)
    return aiohttp.ClientSession(connector=connector, timeout=timeout)
