"""How sure the site is of who is calling (security finding 5), derived from the call's parts.

A caller number is only as good as whoever delivered it (:class:`cluster.callrecords.NumberSource`):
a web caller types its own (``asserted``), a carrier trunk passes the network's (``network``).
A look-up by an asserted number may identify a customer -- their name on the agent's screen, a
flow or a greeting chosen -- but the customer record's segment, which is what raises a call's
priority and picks the VIP service, is withheld until the caller is verified (PIN in the IVR).
Nothing of the customer record is ever said to the caller: prompts are fixed texts.
"""

from __future__ import annotations

from enum import StrEnum

from cluster.callrecords import CallRecord, NumberSource
from site_node.call import CallData

IDENTITY_KEY = "identity"  # the call-data attribute a look-up by caller number sets (see below)


class Identity(StrEnum):
    UNKNOWN = "unknown"  # no customer identified
    UNVERIFIED = "unverified"  # identified by something the caller asserts (its own number)
    NETWORK = "network"  # identified by a number the carrier delivered
    VERIFIED = "verified"  # proved by the caller (PIN), or signed by the bank's app (customer token)


def number_trusted(record: CallRecord) -> bool:
    """Whether the caller's number may stand for the customer (segment, priority): network only."""
    return record.number_source is NumberSource.NETWORK


def by_number(record: CallRecord) -> Identity:
    """What a customer found by the call's caller number is, until verified."""
    return Identity.NETWORK if number_trusted(record) else Identity.UNVERIFIED


def identity(record: CallRecord, data: CallData) -> Identity:
    """The call's identity as the agent's screen shows it."""
    if data.verified is True or record.customer_id:
        return Identity.VERIFIED
    if not data.customer_id:
        return Identity.UNKNOWN
    found = data.attributes.get(IDENTITY_KEY)
    return Identity.NETWORK if found == Identity.NETWORK else Identity.UNVERIFIED
