"""Our small etcd interface: KV, transactions, prefix watches and leased sessions.

The rest of the code base talks to etcd only through :class:`Etcd` and :class:`Session`
(and :mod:`cluster.election` / :mod:`cluster.membership`, built on them). Today they sit on
``etcd3aio`` (asyncio over grpc.aio, several endpoints, works under uvloop with the fast
protobuf); swapping the client means rewriting this module only.

etcd errors are translated here into :class:`~cluster.errors.EtcdUnavailable` carrying the
endpoints that were tried, never a gRPC traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import etcd3aio
import grpc
from etcd3aio import Etcd3Client, EtcdError, prefix_range_end
from etcd3aio.errors import EtcdPermissionDeniedError, EtcdUnauthenticatedError
from etcd3aio.kv import KVService
from prometheus_client import Histogram

from cluster.config import require_etcd_password
from cluster.errors import EtcdUnavailable
from cluster.logs import log

_log = logging.getLogger(__name__)

# Every KV request through this client, by operation (get, get_prefix, put, delete, txn) and
# outcome (ok, error): writes (put, delete, txn) are what the "etcd write latency" alert watches.
ETCD_REQUEST_SECONDS = Histogram(
    "cc_etcd_request_seconds",
    "etcd KV request latency",
    ["operation", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

Compare = Any  # an etcd Compare protobuf, built by the helpers below
Op = Any  # an etcd RequestOp protobuf


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int
    version: int
    lease: int


class EventType(Enum):
    PUT = "put"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: EventType
    key: str
    value: bytes
    mod_revision: int
    create_revision: int


def kv_from_proto(raw: Any) -> KeyValue:
    return KeyValue(
        key=raw.key.decode(),
        value=bytes(raw.value),
        create_revision=int(raw.create_revision),
        mod_revision=int(raw.mod_revision),
        version=int(raw.version),
        lease=int(raw.lease),
    )


@dataclass(frozen=True, slots=True)
class TxnResult:
    succeeded: bool
    revision: int
    responses: list[Any]


@dataclass(frozen=True)
class EtcdTls:
    """TLS to etcd: the CA (PEM) that signed the servers; a client certificate and key for
    mutual TLS; ``server_name`` when the certificates do not name the endpoint hosts."""

    ca: bytes
    cert_chain: bytes | None = None
    key: bytes | None = None
    server_name: str | None = None

    @classmethod
    def from_files(cls, ca_file: Path | None, cert_file: Path | None = None, key_file: Path | None = None,
                   server_name: str | None = None) -> EtcdTls | None:
        """``None`` without a CA (plain connections, the local default)."""
        if ca_file is None:
            return None
        return cls(ca_file.read_bytes(), cert_file.read_bytes() if cert_file else None,
                   key_file.read_bytes() if key_file else None, server_name)

    @classmethod
    def from_config(cls, config: Any) -> EtcdTls | None:
        """From the ``etcd`` configuration section (``ca_file``, ``cert_file``, ...)."""
        return cls.from_files(config.ca_file, config.cert_file, config.key_file, config.server_name)

    def channel_args(self) -> dict[str, Any]:
        return {"ca_cert": self.ca, "cert_chain": self.cert_chain, "cert_key": self.key,
                "tls_server_name": self.server_name}


@dataclass(frozen=True)
class EtcdAuth:
    """etcd username/password authentication (``etcd.user``; ``etcd.password`` required with
    it, never defaulted). The token etcd hands out expires (``--auth-token-ttl``, 300 s by
    default): it is renewed every ``refresh_s`` and at once when etcd calls it invalid."""

    user: str
    password: str = field(repr=False)
    refresh_s: float = 240.0

    @classmethod
    def from_config(cls, config: Any) -> EtcdAuth | None:
        password = require_etcd_password(config)
        return None if password is None else cls(config.user, password, config.token_refresh_s)


class EtcdAuthFailed(EtcdUnavailable):
    error_id = "etcd.auth_failed"


class EtcdCompacted(EtcdUnavailable):
    """A watch asked for history etcd has compacted away: re-read, then watch from the new
    revision (every watcher's ``except EtcdUnavailable`` loop does exactly that)."""

    error_id = "etcd.compacted"


def _is_auth_error(exc: BaseException) -> bool:
    """etcd refused the credentials or the token (etcd 3.4 says so with INVALID_ARGUMENT)."""
    if isinstance(exc, EtcdUnauthenticatedError | EtcdPermissionDeniedError):
        return True
    if not isinstance(exc, grpc.aio.AioRpcError):
        return False
    if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
        return True
    details = (exc.details() or "").lower()
    return exc.code() == grpc.StatusCode.INVALID_ARGUMENT and any(
        word in details for word in ("authentication failed", "user name is empty", "invalid auth token"))


class Etcd:
    """A connected etcd client. ``await Etcd.connect(endpoints)`` to get one."""

    def __init__(self, endpoints: Sequence[str], client: Etcd3Client, auth: EtcdAuth | None = None) -> None:
        self.endpoints = list(endpoints)
        self._client = client
        self._auth = auth
        self._reauth = asyncio.Event()
        self._refresher: asyncio.Task[None] | None = None

    @classmethod
    async def connect_configured(cls, config: Any, *, timeout_s: float | None = None) -> Etcd:
        """Connect as the ``etcd`` configuration section says (endpoints, TLS, user, backoff)."""
        return await cls.connect(config.endpoints, timeout_s=timeout_s, max_backoff_s=config.retry_max_backoff_s,
                                 tls=EtcdTls.from_config(config), auth=EtcdAuth.from_config(config))

    async def _authenticate(self) -> None:
        assert self._auth is not None and self._client.auth is not None
        try:
            answer = await self._client.auth.authenticate(self._auth.user, self._auth.password, timeout=2.0)
        except (EtcdError, grpc.aio.AioRpcError) as exc:
            if not _is_auth_error(exc):
                raise
            raise EtcdAuthFailed(
                f"etcd refused user {self._auth.user!r} at {', '.join(self.endpoints)}: {exc} "
                "(check etcd.user and etcd.password)",
                endpoints=self.endpoints,
            ) from exc
        self._client.set_token(answer.token)

    async def _probe(self) -> None:
        """Log in (with auth), check the cluster answers, then keep the token fresh."""
        if self._auth is not None:
            await self._authenticate()
        try:
            await self._kv.get("/", timeout=2.0, serializable=True)
        except EtcdPermissionDeniedError:
            if self._auth is None:
                raise
            # logged in and answered: this user just may not read "/" (its role grants a prefix)
        except grpc.aio.AioRpcError as exc:
            if self._auth is None and _is_auth_error(exc):
                raise EtcdAuthFailed(
                    f"etcd at {', '.join(self.endpoints)} requires authentication: set etcd.user and "
                    "etcd.password, or connect with a client certificate (etcd.cert_file / etcd.key_file)",
                    endpoints=self.endpoints,
                ) from exc
            raise
        if self._auth is not None:
            self._refresher = asyncio.create_task(self._keep_token(), name="etcd-token")

    async def _keep_token(self) -> None:
        """Renew the token every ``refresh_s``, or at once after etcd rejected it."""
        assert self._auth is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reauth.wait(), self._auth.refresh_s)
            self._reauth.clear()
            try:
                await self._authenticate()
            except (EtcdError, EtcdUnavailable, grpc.aio.AioRpcError, TimeoutError) as exc:
                log(_log, logging.WARNING, "etcd token renewal failed; retrying", reason=str(exc))
                await asyncio.sleep(1.0)
                self._reauth.set()

    @classmethod
    async def connect(
        cls,
        endpoints: Sequence[str],
        *,
        timeout_s: float | None = 30.0,
        max_backoff_s: float = 5.0,
        tls: EtcdTls | None = None,
        auth: EtcdAuth | None = None,
    ) -> Etcd:
        """Connect and check the cluster answers; retry with backoff until ``timeout_s``.

        Every failed attempt logs the endpoints tried and when the next try happens, so an
        operator sees "etcd unreachable at 127.0.0.1:2379; retrying in 2.0 s", not a traceback.
        With ``tls`` the channel is TLS (mutual TLS with a client certificate); with ``auth``
        the client logs in as that user and keeps its token fresh until :meth:`close`.
        """
        if tls is None:
            client = Etcd3Client(list(endpoints), rpc_max_attempts=1)
        else:
            args = tls.channel_args()
            client = Etcd3Client(list(endpoints), rpc_max_attempts=1, tls_server_name=args.pop("tls_server_name"),
                                 **args)
        await client.connect()
        etcd = cls(endpoints, client, auth)
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        backoff = 0.2
        while True:
            try:
                await etcd._probe()
                return etcd
            except EtcdAuthFailed:
                await client.close()
                raise
            except (EtcdError, grpc.aio.AioRpcError, TimeoutError) as exc:
                if deadline is not None and loop.time() + backoff > deadline:
                    await client.close()
                    raise EtcdUnavailable(
                        f"etcd unreachable at {', '.join(endpoints)}; gave up after {timeout_s:.0f} s"
                        " (start one with `callcenter etcd`, or set CC_ETCD__ENDPOINTS)",
                        endpoints=list(endpoints),
                    ) from exc
                log(
                    _log,
                    logging.WARNING,
                    "etcd unreachable; retrying",
                    endpoints=list(endpoints),
                    retry_in_s=round(backoff, 2),
                    reason=type(exc).__name__,
                    hint=f"is etcd running at {', '.join(endpoints)}? see --etcd (CC_ETCD__ENDPOINTS), "
                    "or start one with `callcenter etcd`",
                )
                try:
                    await asyncio.sleep(backoff)
                except asyncio.CancelledError:  # stopped while waiting for etcd: nothing left open
                    await client.close()
                    raise
                backoff = min(backoff * 2, max_backoff_s)

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        await self._client.close()

    @property
    def _kv(self) -> KVService:
        kv = self._client.kv
        if kv is None:
            raise EtcdUnavailable("etcd client is closed", endpoints=self.endpoints)
        return kv

    @contextlib.contextmanager
    def _translate(self, operation: str) -> Any:
        started = time.perf_counter()
        outcome = "error"
        try:
            yield
            outcome = "ok"
        except (EtcdError, grpc.aio.AioRpcError, TimeoutError) as exc:
            if self._auth is not None and _is_auth_error(exc):
                self._reauth.set()  # e.g. etcd restarted and forgot its tokens: log in again
            raise EtcdUnavailable(
                f"etcd {operation} failed at {', '.join(self.endpoints)}: {exc}",
                endpoints=self.endpoints,
            ) from exc
        finally:
            if operation != "watch":  # a watch is a stream, not a request
                label = operation.replace(" ", "_").replace("-", "_")
                ETCD_REQUEST_SECONDS.labels(label, outcome).observe(time.perf_counter() - started)

    # --- KV -------------------------------------------------------------------------------
    async def get(self, key: str, *, timeout: float = 5.0) -> KeyValue | None:
        with self._translate("get"):
            response = await self._kv.get(key, timeout=timeout)
        return kv_from_proto(response.kvs[0]) if response.kvs else None

    async def get_prefix(self, prefix: str, *, timeout: float = 5.0) -> tuple[list[KeyValue], int]:
        """All keys under ``prefix`` and the store revision they were read at."""
        with self._translate("get_prefix"):
            response = await self._kv.get(prefix, range_end=prefix_range_end(prefix), timeout=timeout)
        return [kv_from_proto(raw) for raw in response.kvs], int(response.header.revision)

    async def put(self, key: str, value: bytes | str, *, lease: int = 0, timeout: float = 5.0) -> int:
        with self._translate("put"):
            response = await self._kv.put(key, value, lease=lease, timeout=timeout)
        return int(response.header.revision)

    async def delete(self, key: str, *, timeout: float = 5.0) -> int:
        with self._translate("delete"):
            response = await self._kv.delete(key, timeout=timeout)
        return int(response.deleted)

    async def txn(
        self, compare: Sequence[Compare], success: Sequence[Op], failure: Sequence[Op] = (), *, timeout: float = 5.0
    ) -> TxnResult:
        with self._translate("txn"):
            response = await self._kv.txn(compare, success, failure, timeout=timeout)
        return TxnResult(bool(response.succeeded), int(response.header.revision), list(response.responses))

    async def compact(self, revision: int, *, timeout: float = 5.0) -> None:
        """Drop the history before ``revision`` (watches from earlier raise :class:`EtcdCompacted`)."""
        with self._translate("compact"):
            await self._kv.compact(revision, timeout=timeout)

    # --- transaction building blocks ------------------------------------------------------
    @staticmethod
    def create_revision_is(key: str, revision: int) -> Compare:
        return KVService.txn_compare_create_revision(key, revision)

    @staticmethod
    def absent(key: str) -> Compare:
        return KVService.txn_compare_create_revision(key, 0)

    @staticmethod
    def mod_revision_is(key: str, revision: int) -> Compare:
        # etcd3aio has builders for value, version and create_revision compares but none for
        # mod_revision, and its protobuf classes live in a private module (etcd3aio._protobuf).
        # So start from a public builder's Compare and retarget it: setting mod_revision
        # selects that member of the message's target_union (the version is cleared).
        compare = KVService.txn_compare_version(key, 0)
        compare.target = type(compare).MOD
        compare.mod_revision = revision
        return compare

    @staticmethod
    def op_put(key: str, value: bytes | str, *, lease: int = 0) -> Op:
        return KVService.txn_op_put(key, value, lease=lease)

    @staticmethod
    def op_delete(key: str) -> Op:
        return KVService.txn_op_delete(key)

    @staticmethod
    def op_get(key: str) -> Op:
        return KVService.txn_op_get(key)

    # --- leases ---------------------------------------------------------------------------
    async def grant(self, ttl_s: int, *, timeout: float = 5.0) -> int:
        lease = self._client.lease
        if lease is None:
            raise EtcdUnavailable("etcd client is closed", endpoints=self.endpoints)
        with self._translate("lease grant"):
            response = await lease.grant(ttl_s, timeout=timeout)
        return int(response.ID)

    async def keep_alive_once(self, lease_id: int, *, timeout: float) -> int:
        """Refresh a lease once; returns the remaining TTL (<= 0: the lease is gone)."""
        lease = self._client.lease
        if lease is None:
            raise EtcdUnavailable("etcd client is closed", endpoints=self.endpoints)
        stream = lease.keep_alive(lease_id)
        try:
            async with asyncio.timeout(timeout):
                with self._translate("lease keep-alive"):
                    async for response in stream:
                        return int(response.TTL)
        finally:
            stream.cancel()
        return 0

    async def revoke(self, lease_id: int, *, timeout: float = 2.0) -> None:
        lease = self._client.lease
        if lease is None:
            return
        with self._translate("lease revoke"):
            await lease.revoke(lease_id, timeout=timeout)

    # --- watch ----------------------------------------------------------------------------
    async def watch_prefix(self, prefix: str, *, start_revision: int = 0) -> AsyncIterator[WatchEvent]:
        """Every change under ``prefix`` from ``start_revision`` on (reconnects by itself)."""
        watch = self._client.watch
        if watch is None:
            raise EtcdUnavailable("etcd client is closed", endpoints=self.endpoints)
        with self._translate("watch"):
            async for response in watch.watch(
                prefix, range_end=prefix_range_end(prefix), start_revision=start_revision
            ):
                if response.compact_revision > 0:  # etcd cancelled this watch: history is gone
                    raise EtcdCompacted(
                        f"etcd compacted {prefix!r} past revision {start_revision}; oldest kept is "
                        f"{response.compact_revision}: re-read and watch again",
                        endpoints=self.endpoints,
                        compact_revision=int(response.compact_revision),
                    )
                for event in response.events:
                    yield WatchEvent(
                        type=EventType.DELETE if event.type == 1 else EventType.PUT,
                        key=event.kv.key.decode(),
                        value=bytes(event.kv.value),
                        mod_revision=int(event.kv.mod_revision),
                        create_revision=int(event.kv.create_revision),
                    )


class Session:
    """A lease kept alive in the background, with a way to await its loss.

    Keys written with ``session.lease_id`` vanish when the session ends: at once on
    :meth:`close` (the lease is revoked), or about one TTL after the process dies or stops
    refreshing. ``lost`` is set when the lease is known gone (etcd said so, or no refresh
    succeeded for a whole TTL); whoever holds leadership or membership through it must stop.
    """

    def __init__(self, etcd: Etcd, ttl_s: int) -> None:
        self._etcd = etcd
        self.ttl_s = ttl_s
        self.lease_id = 0
        self.lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> Session:
        self.lease_id = await self._etcd.grant(self.ttl_s)
        self._task = asyncio.create_task(self._keep_alive(), name=f"session-{self.lease_id:x}")
        return self

    async def _keep_alive(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.ttl_s / 3
        last_ok = loop.time()
        while True:
            await asyncio.sleep(interval)
            try:
                remaining = await self._etcd.keep_alive_once(self.lease_id, timeout=interval)
            except (EtcdUnavailable, TimeoutError) as exc:
                log(_log, logging.WARNING, "lease refresh failed", lease=hex(self.lease_id), reason=str(exc))
                remaining = None
            now = loop.time()
            if remaining is not None and remaining > 0:
                last_ok = now
            elif remaining is not None or now - last_ok >= self.ttl_s:
                log(_log, logging.ERROR, "session lost", lease=hex(self.lease_id))
                self.lost.set()
                return

    async def wait_lost(self) -> None:
        await self.lost.wait()

    async def close(self, *, revoke: bool = True) -> None:
        """Stop refreshing; with ``revoke`` the leased keys disappear at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if revoke and self.lease_id and not self.lost.is_set():
            with contextlib.suppress(EtcdUnavailable, TimeoutError):
                await self._etcd.revoke(self.lease_id)
        self.lost.set()


__all__ = ["Etcd", "EtcdCompacted", "EventType", "KeyValue", "Session", "TxnResult", "WatchEvent", "etcd3aio"]
