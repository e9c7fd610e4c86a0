"""IVR flow documents, versioned (V3): a save creates the next version; old ones stay.

Calls already in a flow keep the version they started with by loading it explicitly
(``load_flow(flow_id, version)``); new calls take ``load_flow(flow_id)`` (the latest).
The documents are produced by ``site_node.ivr``; storage keeps them as JSON, unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from site_node.storage._base import Repository, lock_key, table_of
from site_node.storage.errors import Conflict, NotFound, StorageError
from site_node.storage.models import IvrFlow
from site_node.storage.records import FlowVersion

_RETRIES = 5


def _to_version(row: IvrFlow) -> FlowVersion:
    return FlowVersion(row.flow_id, row.version, dict(row.document), row.published_at, row.published_by)


class FlowRepository(Repository):
    async def save_flow(
        self,
        flow_id: str,
        document: Mapping[str, Any],
        *,
        published_at: float,
        published_by: str | None = None,
    ) -> FlowVersion:
        """Store ``document`` as the next version of ``flow_id`` (1 for a new flow)."""
        try:
            payload = json.loads(json.dumps(dict(document)))
        except (TypeError, ValueError) as exc:
            raise StorageError(
                f"ivr_flows: the document of {flow_id!r} is not JSON ({exc})",
                error_id="storage.bad_value",
                status=400,
            ) from exc
        for _attempt in range(_RETRIES):
            try:
                async with self._transaction("save_flow") as session:
                    await lock_key(session, f"ivr_flows:{flow_id}")
                    last = await session.scalar(select(func.max(IvrFlow.version)).where(IvrFlow.flow_id == flow_id))
                    row = {
                        "flow_id": flow_id,
                        "version": (last or 0) + 1,
                        "document": payload,
                        "published_at": published_at,
                        "published_by": published_by,
                    }
                    await session.execute(table_of(IvrFlow).insert(), [row])
                return FlowVersion(flow_id, row["version"], payload, published_at, published_by)
            except Conflict:
                continue  # a concurrent save took this version number
        raise Conflict(f"ivr_flows: could not allocate a version for {flow_id!r}")

    async def load_flow(self, flow_id: str, version: int | None = None) -> FlowVersion:
        """A specific version, or the latest; :class:`NotFound` if there is none."""
        query = select(IvrFlow).where(IvrFlow.flow_id == flow_id)
        if version is None:
            query = query.order_by(IvrFlow.version.desc()).limit(1)
        else:
            query = query.where(IvrFlow.version == version)
        async with self._transaction("load_flow") as session:
            row = await session.scalar(query)
            if row is None:
                which = "any version" if version is None else f"version {version}"
                raise NotFound(f"IVR flow {flow_id!r} has no {which}", flow_id=flow_id, version=version)
            return _to_version(row)

    async def flow_versions(self, flow_id: str) -> list[int]:
        query = select(IvrFlow.version).where(IvrFlow.flow_id == flow_id).order_by(IvrFlow.version)
        async with self._transaction("flow_versions") as session:
            return list((await session.scalars(query)).all())

    async def latest_versions(self) -> dict[str, int]:
        """``{flow_id: latest version}`` of every stored flow."""
        query = select(IvrFlow.flow_id, func.max(IvrFlow.version)).group_by(IvrFlow.flow_id)
        async with self._transaction("latest_versions") as session:
            return {flow_id: int(v) for flow_id, v in (await session.execute(query)).all()}
