"""Route requests from the SIP edge: the one place central tells a trunk's call from a web one.

The edge (``callcenter sip-edge``, :mod:`site_node.sip`) is a cluster member: it holds the
cluster secret and signs an ``edge`` token for itself, sent as ``edge_token`` in the body of
``POST /v1/calls`` (the body, not a header, so a follower's one-hop forward carries it). Such a
request's caller number was delivered by the carrier's network (``number_source: network``),
and its call token says ``media: rtp``: the site then accepts a plain-RTP offer on that call's
socket (and only there). A reconnect keeps both marks.
"""

from __future__ import annotations

from typing import Any

from cluster.tokens import Claims, TokenSigner

EDGE_MARKS = ("media", "number_source", "edge")


def edge_marks(signer: TokenSigner, body: dict[str, Any]) -> dict[str, str]:
    """The call token's extra claims for a route request; empty unless the edge signed it
    (a bad ``edge_token`` is refused: ``token.*``, nothing is routed)."""
    token = body.get("edge_token")
    if token is None:
        return {}
    claims = signer.verify(str(token), kind="edge")
    return {"media": "rtp", "number_source": "network", "edge": claims.subject}


def carried_marks(claims: Claims) -> dict[str, Any]:
    """The marks of a call token that its reissue (reconnect) keeps."""
    return {key: claims.extra[key] for key in EDGE_MARKS if key in claims.extra}
