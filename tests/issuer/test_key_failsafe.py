"""Key-state failures fail safe: an unreadable key never blocks revocation, stale keys stop
signing, and a keys CLI that cannot read the active key changes nothing."""

import json
import logging
from pathlib import Path

import pytest

from issuer.cli.main import main
from issuer.config import IssuerSettings
from issuer.keys.keyring import NoSigningKey
from issuer.wiring import build_services, unopened_key_store
from jwtkit.testing import FakeClock
from tests.support import issuer_client, issuer_settings

pytestmark = pytest.mark.usefixtures("database")


def test_undecryptable_key_is_skipped_and_revocation_still_arrives(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A running process (passphrase A) meets a key it cannot decrypt (made after a rewrap to
    passphrase B) and a revocation of the key it signs with. Its next refresh still takes
    effect: the revoked key leaves its JWKS and stops signing, the new key is published, the
    process reports not ready, and the unreadable key is logged. Regression: the refresh
    aborted on the first unreadable key, and the revoked key kept signing."""
    data = tmp_path / "data"
    running = build_services(issuer_settings(data, key_passphrase="A"), clock)
    running.keyring.refresh()
    old_kid, _ = running.keyring.signing_key(clock())

    unopened_key_store(issuer_settings(data, key_passphrase="B"), running.engine).rewrap(b"A")
    admin = build_services(issuer_settings(data, key_passphrase="B"), clock).keyring.lifecycle
    new_kid = admin.rotate(clock(), immediately=True).key.kid
    admin.revoke(old_kid, clock())

    clock.advance(5)
    with caplog.at_level(logging.ERROR, logger="issuer.keys.keyring"):
        running.keyring.refresh()
    published = [key["kid"] for key in json.loads(running.keyring.jwks.body)["keys"]]
    assert [new_kid] == published
    with pytest.raises(NoSigningKey):
        running.keyring.signing_key(clock())
    assert not running.keyring.ready
    assert [new_kid] == [r.kid for r in caplog.records if r.msg == "skipping a signing key"]  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_stale_keys_stop_signing_until_a_refresh_succeeds(
    tmp_path: Path, clock: FakeClock
) -> None:
    """ISSUER_KEY_STALE_AFTER: past it since the last successful refresh, /token answers 503
    temporarily_unavailable with Retry-After and /readyz says not ready; a refresh restores
    both. JWKS keeps answering from memory throughout."""
    settings = issuer_settings(
        tmp_path / "data", key_check_interval=50, key_stale_after=60, demo_users=["alice:pw"]
    )
    async with issuer_client(settings, clock) as (client, services):
        login = {"username": "alice", "password": "pw"}
        assert 200 == (await client.post("/token", data=login)).status_code
        clock.advance(61)
        stale = await client.post("/token", data=login)
        assert (503, "temporarily_unavailable") == (stale.status_code, stale.json()["error"])
        assert stale.headers["retry-after"].isdigit()
        assert 503 == (await client.get("/readyz")).status_code
        assert 200 == (await client.get("/.well-known/jwks.json")).status_code
        services.keyring.refresh()
        assert 200 == (await client.post("/token", data=login)).status_code
        assert 200 == (await client.get("/readyz")).status_code


def test_keys_cli_with_a_wrong_passphrase_changes_nothing(
    settings: IssuerSettings,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`keys rotate --now` and `keys revoke` with a passphrase that cannot read the active key
    exit 2 (a bad setting, issue 21) with a message naming ISSUER_KEY_PASSPHRASE, and the keys
    stay as they were."""
    data = settings.data_dir
    running = build_services(issuer_settings(data, key_passphrase="A"), clock)
    running.keyring.refresh()
    kid, _ = running.keyring.signing_key(clock())
    monkeypatch.setenv("ISSUER_DATA_DIR", str(data))
    monkeypatch.setenv("ISSUER_KEY_PASSPHRASE", "B")
    assert 2 == main(["keys", "rotate", "--now"])
    assert 2 == main(["keys", "revoke", kid, "--yes"])
    assert 2 == capsys.readouterr().err.count("ISSUER_KEY_PASSPHRASE")
    assert [kid] == [key.kid for key in running.keyring.lifecycle.store.load()]
    assert running.keyring.lifecycle.store.load()[0].revoked_at is None
