"""Flow registry: versioned flows and their selection per dialled number and segment (V3).

Publishing a flow makes a new immutable version; new calls get it at once (no restart), while
calls in progress keep the :class:`~site_node.ivr.flow.Flow` object they started with (and can
still be looked up by ``(flow_id, version)`` after a restart or failover).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import UnknownFlow
from .flow import Flow, parse_flow


class FlowRegistry:
    def __init__(self) -> None:
        self._versions: dict[str, dict[int, Flow]] = {}
        self._routes: dict[tuple[str, str | None], str] = {}

    def publish(self, raw: Mapping[str, Any]) -> Flow:
        """Validate ``raw`` and make it the latest version of its flow id."""
        flow_id = str(raw.get("id", "?"))
        versions = self._versions.get(flow_id, {})
        version = max(versions, default=0) + 1
        flow = parse_flow(raw, version)  # raises before anything changes
        self._versions.setdefault(flow.id, {})[version] = flow
        return flow

    def latest(self, flow_id: str) -> Flow:
        versions = self._versions.get(flow_id)
        if not versions:
            raise UnknownFlow(f"no flow {flow_id!r} is published", flow_id=flow_id)
        return versions[max(versions)]

    def get(self, flow_id: str, version: int) -> Flow:
        try:
            return self._versions[flow_id][version]
        except KeyError:
            raise UnknownFlow(f"flow {flow_id!r} has no version {version}", flow_id=flow_id,
                              version=version) from None

    def versions(self, flow_id: str) -> list[int]:
        return sorted(self._versions.get(flow_id, {}))

    def flow_ids(self) -> list[str]:
        return sorted(self._versions)

    def bind(self, dialled_number: str, flow_id: str, *, segment: str | None = None) -> None:
        """Route calls to ``dialled_number`` (and customer ``segment``, if given) to a flow."""
        self.latest(flow_id)
        self._routes[(dialled_number, segment)] = flow_id

    def select(self, dialled_number: str, segment: str | None = None) -> Flow:
        """The latest version of the flow for this number; a segment route wins (VIP)."""
        flow_id = None
        if segment is not None:
            flow_id = self._routes.get((dialled_number, segment))
        if flow_id is None:
            flow_id = self._routes.get((dialled_number, None))
        if flow_id is None:
            raise UnknownFlow(f"no flow is bound to number {dialled_number!r}",
                              dialled_number=dialled_number)
        return self.latest(flow_id)

    def routes(self) -> list[dict[str, str | None]]:
        return [{"dialled_number": n, "segment": s, "flow_id": f}
                for (n, s), f in sorted(self._routes.items(), key=lambda kv: (kv[0][0],
                                                                               kv[0][1] or ""))]
