"""The administered objects in etcd: read them all, write one version fenced on the one read."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from central.admin.errors import AdminUnavailable, AdminVersionConflict
from central.admin.model import Catalog, Published
from cluster.errors import EtcdUnavailable
from cluster.etcd import Etcd
from cluster.keys import Keyspace


class AdminStore:
    def __init__(self, etcd: Callable[[], Etcd | None], keys: Keyspace) -> None:
        self._etcd = etcd
        self._keys = keys

    def _client(self) -> Etcd:
        etcd = self._etcd()
        if etcd is None:
            raise AdminUnavailable("central is not connected to etcd yet; nothing changed")
        return etcd

    async def catalog(self) -> tuple[Catalog, dict[tuple[str, str], int]]:
        """Every object, and the etcd revision each was last written at (the write's fence)."""
        try:
            kvs, _ = await self._client().get_prefix(self._keys.admin)
        except EtcdUnavailable as exc:
            raise AdminUnavailable(f"etcd is unreachable; nothing changed ({exc})") from exc
        objects: dict[str, dict[str, Published]] = {}
        revisions: dict[tuple[str, str], int] = {}
        for kv in kvs:
            parsed = self._keys.parse_admin(kv.key)
            if parsed is None:
                continue
            body = json.loads(kv.value)
            objects.setdefault(parsed[0], {})[parsed[1]] = Published(int(body["version"]), body["document"])
            revisions[parsed] = kv.mod_revision
        return Catalog(objects), revisions

    async def write(
        self, kind: str, object_id: str, change: Published, *, read_at: int | None, editor: str, now: float
    ) -> None:
        """Put the new version if the key is still as read (``read_at`` None: still absent)."""
        key = self._keys.admin_object(kind, object_id)
        body: dict[str, Any] = {"version": change.version, "document": dict(change.document), "by": editor, "at": now}
        fence = Etcd.absent(key) if read_at is None else Etcd.mod_revision_is(key, read_at)
        try:
            result = await self._client().txn([fence], [Etcd.op_put(key, json.dumps(body))], timeout=5.0)
        except EtcdUnavailable as exc:
            raise AdminUnavailable(f"etcd is unreachable; nothing changed ({exc})") from exc
        if not result.succeeded:
            raise AdminVersionConflict(
                f"{kind}/{object_id} was changed by someone else a moment ago; nothing changed: read it again",
                kind=kind, id=object_id,
            )  # fmt: skip
