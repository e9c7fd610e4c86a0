"""Routing: classification of a call, site selection and overflow (pure), and the leader's router
(``central.routing.router``, not imported here: it depends on ``central.state``)."""

from central.routing.classify import Classification, Classifier
from central.routing.overflow import Overflow, select_overflow
from central.routing.selection import NoSiteAvailable, SiteChoice, SiteSnapshot, select_site

__all__ = [
    "Classification",
    "Classifier",
    "NoSiteAvailable",
    "Overflow",
    "SiteChoice",
    "SiteSnapshot",
    "select_overflow",
    "select_site",
]
