"""The ``resources`` section of central's configuration (``CC_RESOURCES__...``)."""

from __future__ import annotations

from pydantic import Field

from cluster.config import Section


class ResourcesConfig(Section):
    # the back-office simulator (``callcenter backoffice``; the demo sets it): ``{backoffice}`` in URLs
    backoffice_url: str = "http://127.0.0.1:8090"
    # YAML files or folders of resource definitions; empty: the demo definitions shipped with the project
    definitions: list[str] = Field(default_factory=list)
    deadline_s: float = Field(default=2.0, gt=0, le=30)  # a whole plan's default deadline
    max_deadline_s: float = Field(default=10.0, gt=0, le=60)  # the most a request may ask for
    cache_entries: int = Field(default=10_000, ge=0, le=1_000_000)
    connections: int = Field(default=100, ge=1, le=10_000)  # open connections to the back offices
