"""Finding 1 (critical): no process signs with a public default. ``central`` and ``site``
refuse to start without a configured secret, naming the setting; the demo makes a random one
per run; tokens name their key (``kid``) so a secret can be rotated; a token minted with any
key the cluster does not hold (the old public default included) is refused."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest

from cluster.config import TokenConfig, load_settings
from cluster.errors import ConfigError, TokenError
from cluster.launcher import LocalCluster
from cluster.tokens import TokenSigner

REPO = Path(__file__).resolve().parents[2]
OLD_PUBLIC_DEFAULT = "dev-only-" + "secret-change-me-in-production-0123456789"  # what every checkout once held


@pytest.mark.parametrize("role", ["central", "site"])
def test_a_service_without_a_secret_refuses_to_start_naming_the_setting(role: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CC_TOKENS__")}
    env["CC_SITE__DATA_DIR"] = str(tmp_path)
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "cluster.cli", role, "--port", "0"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0 and time.monotonic() - started < 30
    assert "tokens.secret is not set" in result.stderr and "CC_TOKENS__SECRET" in result.stderr


def test_there_is_no_default_secret_and_a_short_one_is_refused() -> None:
    assert TokenConfig().secret is None
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"CC_TOKENS__SECRET": "too-short"})
    assert info.value.error_id == "config.bad_value" and "tokens.secret" in str(info.value)


def test_the_demo_makes_a_random_secret_per_run(tmp_path: Path) -> None:
    env_secret = os.environ.pop("CC_TOKENS__SECRET", None)
    try:
        one, two = LocalCluster(tmp_path / "a"), LocalCluster(tmp_path / "b")
        assert one.secret != two.secret and len(one.secret) >= 32
    finally:
        if env_secret is not None:
            os.environ["CC_TOKENS__SECRET"] = env_secret


def test_rotation_keeps_old_tokens_valid_while_listed_and_refuses_unknown_keys() -> None:
    old, new = "o" * 40, "n" * 40
    issued_before = TokenSigner(old).issue("agent", "north-01", role="admin")
    rotated = TokenSigner(new, previous=[old])
    assert rotated.verify(issued_before).subject == "north-01"
    assert TokenSigner(new).verify(rotated.issue("call", "c-1")).subject == "c-1"
    with pytest.raises(TokenError) as info:
        TokenSigner(new).verify(issued_before)  # the old secret was dropped: its tokens are gone
    assert info.value.error_id == "token.forged"


@pytest.mark.parametrize("headers", [None, {"kid": "0123456789abcdef"}])
def test_a_token_minted_with_the_old_public_default_is_refused(headers: dict[str, str] | None) -> None:
    now = int(time.time())
    forged = jwt.encode({"iss": "callcenter", "kind": "agent", "sub": "attacker", "iat": now, "exp": now + 600,
                         "jti": "x", "ext": {"role": "admin", "skills": {"vip": 10}}},
                        OLD_PUBLIC_DEFAULT, algorithm="HS256", headers=headers)
    with pytest.raises(TokenError) as info:
        TokenSigner("s" * 40).verify(forged)
    assert info.value.error_id == "token.forged"


def test_a_site_without_an_account_hash_key_refuses_to_start(tmp_path: Path) -> None:
    """Finding 8: the key of the accounts' keyed hash is configuration, never a constant."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CC_SITE__ACCOUNT")}
    env.update(CC_TOKENS__SECRET="s" * 48, CC_SITE__DATA_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "cluster.cli", "site", "--port", "0"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0 and "site.account_hash_key is not set" in result.stderr
