"""Signed short-lived tokens: valid, expired, forged, wrong kind, malformed."""

from __future__ import annotations

import pytest

from cluster.clock import ManualClock
from cluster.errors import TokenError
from cluster.tokens import TokenSigner

SECRET = "a-test-secret-of-enough-length-for-hs256"


def test_issue_and_verify_round_trip() -> None:
    clock = ManualClock()
    signer = TokenSigner(SECRET, ttl_s=60, clock=clock)
    token = signer.issue("call", "call-1", site="north", skill="retail")
    claims = signer.verify(token, kind="call")
    assert (claims.kind, claims.subject, claims.site, claims.extra) == ("call", "call-1", "north", {"skill": "retail"})


@pytest.mark.parametrize(
    ("mutate", "error_id"),
    [
        ("expire", "token.expired"),
        ("forge", "token.forged"),
        ("kind", "token.wrong_kind"),
        ("garbage", "token.malformed"),
        ("empty", "token.malformed"),
    ],
)
def test_bad_tokens_are_refused_with_stable_ids(mutate: str, error_id: str) -> None:
    clock = ManualClock()
    signer = TokenSigner(SECRET, ttl_s=60, clock=clock)
    token = signer.issue("agent", "agent-7")
    if mutate == "expire":
        clock.advance(61)
    elif mutate == "forge":
        token = TokenSigner("another-secret-of-enough-length-for-hs256", clock=clock).issue("agent", "agent-7")
    elif mutate == "garbage":
        token = "not.a.token"
    elif mutate == "empty":
        token = ""
    with pytest.raises(TokenError) as caught:
        signer.verify(token, kind="call" if mutate == "kind" else "agent")
    assert caught.value.error_id == error_id
    assert caught.value.status == 401
