"""Signing keys persist across restarts and are encrypted at rest with the passphrase."""

from pathlib import Path

import pytest
from sqlalchemy import select

from issuer.app import build_services
from issuer.db import SigningKeyRow, session
from issuer.keys.store import KeyDecryptionFailed
from shared.clock import FakeClock
from tests.support import issuer_settings


def _first_key(data: Path, clock: FakeClock, **overrides: object) -> str:
    services = build_services(issuer_settings(data, **overrides), clock)
    services.keyring.refresh()
    kid, _ = services.keyring.signing_key(clock())
    return kid


def test_same_key_after_restart(tmp_path: Path, clock: FakeClock) -> None:
    """A second start on the same data dir signs with the key the first one made."""
    data = tmp_path / "data"
    assert _first_key(data, clock) == _first_key(data, clock)


def test_no_unencrypted_private_key_on_disk(tmp_path: Path, clock: FakeClock) -> None:
    """With ISSUER_KEY_PASSPHRASE set, the stored key is encrypted PKCS#8, and no file in the
    data dir holds an unencrypted private key."""
    data = tmp_path / "data"
    _first_key(data, clock, key_passphrase="correct horse battery")
    engine = build_services(issuer_settings(data, key_passphrase="x"), clock).engine
    with session(engine) as db:
        row = db.scalars(select(SigningKeyRow)).one()
    assert row.encrypted
    assert row.private_pem is not None
    assert row.private_pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    for file in data.iterdir():
        assert b"BEGIN PRIVATE KEY" not in file.read_bytes()
        assert b"BEGIN RSA PRIVATE KEY" not in file.read_bytes()


def test_wrong_passphrase_is_a_clear_error(tmp_path: Path, clock: FakeClock) -> None:
    """Starting with another passphrase fails with a message naming the variable."""
    data = tmp_path / "data"
    _first_key(data, clock, key_passphrase="correct horse battery")
    with pytest.raises(KeyDecryptionFailed, match="ISSUER_KEY_PASSPHRASE"):
        _first_key(data, clock, key_passphrase="wrong")


def test_passphrase_from_file(tmp_path: Path, clock: FakeClock) -> None:
    """ISSUER_KEY_PASSPHRASE_FILE (a compose secret) reads the same as the variable."""
    secret = tmp_path / "passphrase"
    secret.write_text("from a file\n")
    data = tmp_path / "data"
    kid = _first_key(data, clock, key_passphrase_file=secret)
    assert kid == _first_key(data, clock, key_passphrase="from a file")
