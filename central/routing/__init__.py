"""Routing: classification of a call, site selection (pure), and the leader's router."""

from central.routing.classify import Classification, Classifier
from central.routing.selection import NoSiteAvailable, SiteChoice, SiteSnapshot, select_site

__all__ = ["Classification", "Classifier", "NoSiteAvailable", "SiteChoice", "SiteSnapshot", "select_site"]
