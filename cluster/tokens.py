"""Signed short-lived tokens for calls and agents (PyJWT, HS256).

A *call token* lets a customer's client join one call at one site; an *agent token* lets an
agent's desktop attach (and re-attach after a site failover, at the backup site) without typing
credentials again. Both are verified by every site with the cluster's shared secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Container, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import jwt

from cluster.clock import SYSTEM_CLOCK, Clock
from cluster.errors import TokenError

TokenKind = Literal["call", "agent", "supervisor", "customer", "edge"]  # edge: the SIP edge itself
_ALGORITHM = "HS256"
_ISSUER = "callcenter"


@dataclass(frozen=True, slots=True)
class Claims:
    kind: TokenKind
    subject: str  # call id or agent id
    site: str | None
    issued_at: float
    expires_at: float
    token_id: str
    extra: dict[str, Any]


def key_id(secret: str) -> str:
    """The ``kid`` naming a secret in token headers (a digest: the secret is not derivable)."""
    return hashlib.sha256(b"callcenter-kid:" + secret.encode()).hexdigest()[:16]


class TokenSigner:
    """Signs with one secret; verifies with it and the ``previous`` ones (rotation), chosen by
    the token header's ``kid``; refuses tokens whose ``jti`` or login session (``sid``) is in
    ``denylist`` (:class:`cluster.revocation.Revocations`)."""

    def __init__(
        self,
        secret: str,
        *,
        ttl_s: float = 300.0,
        clock: Clock = SYSTEM_CLOCK,
        previous: Sequence[str] = (),
        denylist: Container[str] = frozenset(),
    ) -> None:
        for candidate in (secret, *previous):
            if len(candidate.encode()) < 32:
                raise ValueError("token secret must be at least 32 bytes (HS256)")
        self._secret = secret
        self._kid = key_id(secret)
        self._keys = {key_id(s): s for s in (*previous, secret)}
        self._ttl_s = ttl_s
        self._clock = clock
        self._denylist = denylist

    def digest(self, value: str) -> str:
        """A keyed, one-way digest of ``value`` (HMAC-SHA256 with the signing secret, 32 hex)."""
        return hmac.new(self._secret.encode(), b"callcenter-id:" + value.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(
        self,
        kind: TokenKind,
        subject: str,
        *,
        site: str | None = None,
        ttl_s: float | None = None,
        **extra: Any,
    ) -> str:
        now = self._clock.now()
        payload: dict[str, Any] = {
            "iss": _ISSUER,
            "kind": kind,
            "sub": subject,
            "iat": int(now),
            "exp": int(now + (ttl_s if ttl_s is not None else self._ttl_s)),
            "jti": secrets.token_hex(8),
        }
        if site is not None:
            payload["site"] = site
        if extra:
            payload["ext"] = extra
        return jwt.encode(payload, self._secret, algorithm=_ALGORITHM, headers={"kid": self._kid})

    def verify(self, token: str, *, kind: TokenKind | None = None, leeway_s: float = 0.0) -> Claims:
        """Return the claims of a valid token or raise :class:`TokenError` with a stable id.

        ``leeway_s`` accepts a token that expired at most that long ago: used only to let a
        client that was in a call re-attach after a failover with the token it already holds.
        """
        if not isinstance(token, str) or not token or len(token) > 4096:
            raise TokenError("token missing or malformed", error_id="token.malformed")
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise TokenError(f"token is not valid: {exc}", error_id="token.malformed") from exc
        key = self._keys.get(str(kid)) if kid is not None else None
        if key is None:
            raise TokenError("token signed with a key this cluster does not hold", error_id="token.forged")
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[_ALGORITHM],
                issuer=_ISSUER,
                options={"require": ["exp", "iat", "sub", "kind", "jti"], "verify_exp": False},
            )
        except jwt.InvalidSignatureError as exc:
            raise TokenError("token signature is not valid", error_id="token.forged") from exc
        except jwt.PyJWTError as exc:
            raise TokenError(f"token is not valid: {exc}", error_id="token.malformed") from exc
        # Expiry is checked against the injected clock, not the process clock.
        if float(payload["exp"]) + leeway_s <= self._clock.now():
            raise TokenError("token has expired; ask central for a new one", error_id="token.expired")
        extra = payload.get("ext", {})
        if payload["jti"] in self._denylist or (isinstance(extra, dict) and extra.get("sid") in self._denylist):
            raise TokenError("token has been revoked (logged out); log in again", error_id="token.revoked")
        if kind is not None and payload["kind"] != kind:
            raise TokenError(
                f"a {payload['kind']} token cannot be used here (needs {kind})",
                error_id="token.wrong_kind",
            )
        return Claims(
            kind=payload["kind"],
            subject=str(payload["sub"]),
            site=payload.get("site"),
            issued_at=float(payload["iat"]),
            expires_at=float(payload["exp"]),
            token_id=str(payload["jti"]),
            extra=dict(extra),
        )


def bearer_claims(signer: TokenSigner, authorization: str, *, action: str, why: str) -> Claims:
    """The verified agent behind ``Authorization: Bearer <agent token>`` whose role may do
    ``action`` (:mod:`cluster.roles`; else ``403 role.forbidden`` saying ``why``)."""
    from cluster.roles import require

    if not authorization.startswith("Bearer "):
        raise TokenError("send your agent token as 'Authorization: Bearer <token>'", error_id="token.malformed")
    claims = signer.verify(authorization[7:], kind="agent")
    require(claims.extra, action, why)
    return claims
