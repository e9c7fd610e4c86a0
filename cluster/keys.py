"""The etcd keyspace, in one place. Nothing else builds key strings.

    <prefix>/election/central/<lease hex>   central candidates; lowest create revision leads
    <prefix>/sites/<site>                   site membership (leased): address, skills, load
    <prefix>/deaths/<site>                  the last death of the site central confirmed by probe
    <prefix>/calls/<call_id>                routing record of a live call (fenced writes)
    <prefix>/agents/<agent_id>              where an agent is attached and its state
    <prefix>/config/<name>                  live configuration (routing policy, flow pointers)
    <prefix>/config/flows/<flow_id>/<version>  an IVR flow version, published cluster-wide
    <prefix>/config/admin/<kind>/<id>       an administered object (agent, queue, skill, codes), versioned
    <prefix>/lockouts/<kind>/<subject>      failed PIN / login attempts and locks (leased)
    <prefix>/revoked/<id>                   revoked token or login session ids (leased to expiry)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keyspace:
    prefix: str = "/cc"

    def election(self, name: str = "central") -> str:
        return f"{self.prefix}/election/{name}/"

    @property
    def sites(self) -> str:
        return f"{self.prefix}/sites/"

    def site(self, site: str) -> str:
        return f"{self.sites}{site}"

    @property
    def deaths(self) -> str:
        return f"{self.prefix}/deaths/"

    def death(self, site: str) -> str:
        return f"{self.deaths}{site}"

    @property
    def calls(self) -> str:
        return f"{self.prefix}/calls/"

    def call(self, call_id: str) -> str:
        return f"{self.calls}{call_id}"

    @property
    def agents(self) -> str:
        return f"{self.prefix}/agents/"

    def agent(self, agent_id: str) -> str:
        return f"{self.agents}{agent_id}"

    def lockouts(self, kind: str) -> str:
        return f"{self.prefix}/lockouts/{kind}/"

    @property
    def revoked(self) -> str:
        return f"{self.prefix}/revoked/"

    def config(self, name: str) -> str:
        return f"{self.prefix}/config/{name}"

    @property
    def flows(self) -> str:
        return f"{self.prefix}/config/flows/"

    def flow_versions(self, flow_id: str) -> str:
        return f"{self.flows}{flow_id}/"

    def flow(self, flow_id: str, version: int) -> str:
        return f"{self.flow_versions(flow_id)}{version:06d}"

    @property
    def admin(self) -> str:
        return f"{self.prefix}/config/admin/"

    def admin_object(self, kind: str, object_id: str) -> str:
        return f"{self.admin}{kind}/{object_id}"

    def parse_admin(self, key: str) -> tuple[str, str] | None:
        """``(kind, id)`` of an administered object's key, or ``None`` for anything else."""
        if not key.startswith(self.admin):
            return None
        kind, _, object_id = key[len(self.admin) :].partition("/")
        return (kind, object_id) if kind and object_id else None

    def parse_flow(self, key: str) -> tuple[str, int] | None:
        """``(flow_id, version)`` of a flow key, or ``None`` for anything else."""
        if not key.startswith(self.flows):
            return None
        flow_id, _, version = key[len(self.flows) :].rpartition("/")
        return (flow_id, int(version)) if flow_id and version.isdigit() else None

    @staticmethod
    def leaf(key: str) -> str:
        """The last path element of a key (a site name, a call id)."""
        return key.rsplit("/", 1)[-1]
