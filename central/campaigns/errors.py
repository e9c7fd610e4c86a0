"""Errors of campaigns (stable ids; :mod:`cluster.errors`)::

CampaignError              campaign.error                 400
├── TransitionNotAllowed   campaign.transition_not_allowed 409
├── BadOutcome             campaign.bad_outcome           400
├── BadPolicy              campaign.bad_policy            400
├── BadList                campaign.bad_list              400 (the file as a whole)
└── UnknownCampaign        campaign.unknown               404
"""

from __future__ import annotations

from cluster.errors import CallCenterError


class CampaignError(CallCenterError):
    error_id = "campaign.error"
    status = 400


class TransitionNotAllowed(CampaignError):
    error_id = "campaign.transition_not_allowed"
    status = 409


class BadOutcome(CampaignError):
    error_id = "campaign.bad_outcome"


class BadPolicy(CampaignError):
    error_id = "campaign.bad_policy"


class BadList(CampaignError):
    error_id = "campaign.bad_list"


class UnknownCampaign(CampaignError):
    error_id = "campaign.unknown"
    status = 404
