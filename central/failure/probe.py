"""One probe of a site: connect to its advertised HTTP address and ask ``GET /healthz``.

Only ``ECONNREFUSED`` means the process is gone: the host's kernel answered the connection
with a reset because nothing listens on the port any more (a SIGKILLed or crashed process).
A paused process still has its listening socket, so the kernel completes the handshake and
the request then times out: ``unresponsive``. A host that is down or cut off answers nothing
(timeout) or has no route: ``unreachable``. Both are left to the lease. A connection accepted,
then reset or closed unanswered (``reset``), is a process being torn down as we ask: the round
probes again.
"""

from __future__ import annotations

import asyncio
import errno
import ssl
from typing import Protocol
from urllib.parse import urlsplit

from central.failure.detector import Verdict

_REFUSED = {errno.ECONNREFUSED}
_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN}
_RESET = {errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED}


class Prober(Protocol):
    async def __call__(self, url: str) -> Verdict: ...


def classify_error(exc: BaseException) -> Verdict:
    """The verdict an exception of a connection attempt stands for."""
    if isinstance(exc, ssl.SSLError):
        return Verdict.HEALTHY  # something alive spoke TLS to us (a certificate problem is not death)
    if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) in _REFUSED:
        return Verdict.REFUSED
    if isinstance(exc, TimeoutError):
        return Verdict.UNRESPONSIVE
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError | asyncio.IncompleteReadError) \
            or getattr(exc, "errno", None) in _RESET:
        return Verdict.RESET
    if getattr(exc, "errno", None) in _UNREACHABLE:
        return Verdict.UNREACHABLE
    return Verdict.UNREACHABLE  # anything else we cannot read as "nothing listens": not evidence


class HttpProbe:
    """``GET /healthz`` over a fresh connection (never a pooled one) within ``timeout_s``."""

    def __init__(self, timeout_s: float, ssl_context: ssl.SSLContext | None = None) -> None:
        self.timeout_s = timeout_s
        self._ssl = ssl_context

    async def __call__(self, url: str) -> Verdict:
        parts = urlsplit(url)
        https = parts.scheme == "https"
        host = parts.hostname or "127.0.0.1"
        port = parts.port or (443 if https else 80)
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(self.timeout_s):
                context = (self._ssl or ssl.create_default_context()) if https else None
                reader, writer = await asyncio.open_connection(host, port, ssl=context)
                writer.write(f"GET /healthz HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode())
                await writer.drain()
                status = await reader.readline()
            # any HTTP answer is a live process (a 503 while it starts is still alive); closed
            # without a word: a process going down as we asked (its kernel still tearing it down)
            if not status:
                return Verdict.RESET
            return Verdict.HEALTHY if status.startswith(b"HTTP/") else Verdict.UNRESPONSIVE
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            return classify_error(exc)
        finally:
            if writer is not None:
                writer.close()
