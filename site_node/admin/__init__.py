"""Administration at a site (issue 19): apply the agents, queues and codes published at central."""

from site_node.admin.sync import DEFAULT_CODES, AdminSync

__all__ = ["DEFAULT_CODES", "AdminSync"]
