"""Signing keys persist across restarts and are encrypted at rest under a key derived from the
passphrase with scrypt; the passphrase can be changed; destroyed keys leave no trace on disk."""

import json
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from issuer.cli.main import main
from issuer.keys.store import KeyDecryptionFailed
from issuer.keys.wrapping import PREFIX
from issuer.store.db import session
from issuer.store.models import KeyEncryptionRow, SigningKeyRow
from issuer.wiring import build_services, open_database
from jwtkit.contract import rsa_public_jwk
from jwtkit.testing import FakeClock
from tests.support import issuer_settings

pytestmark = pytest.mark.usefixtures("database")


def _first_key(data: Path, clock: FakeClock, **overrides: object) -> str:
    services = build_services(issuer_settings(data, **overrides), clock)
    services.keyring.refresh()
    kid, _ = services.keyring.signing_key(clock())
    return kid


def _stored(data: Path) -> list[SigningKeyRow]:
    with session(open_database(issuer_settings(data))) as db:
        return list(db.scalars(select(SigningKeyRow)))


def _files_holding(data: Path, needle: bytes) -> list[str]:
    """Every file of the data dir (main database, WAL, shared memory) that holds `needle`
    (none on PostgreSQL, whose files are the server's)."""
    if not data.exists():
        return []
    return [file.name for file in data.iterdir() if needle in file.read_bytes()]


def test_same_key_after_restart(tmp_path: Path, clock: FakeClock) -> None:
    """A second start on the same data dir signs with the key the first one made."""
    data = tmp_path / "data"
    assert _first_key(data, clock) == _first_key(data, clock)


def test_private_key_is_wrapped_under_scrypt(tmp_path: Path, clock: FakeClock) -> None:
    """With ISSUER_KEY_PASSPHRASE set, the stored key is AES-GCM under a scrypt-derived key
    with OWASP's parameters (N=2^17, r=8, p=1), not PKCS#8 with PBKDF2's 2,048 iterations; no
    file in the data dir holds a PEM private key."""
    data = tmp_path / "data"
    _first_key(data, clock, key_passphrase="correct horse battery")
    (row,) = _stored(data)
    assert row.encrypted and row.private_pem is not None
    assert row.private_pem.startswith(PREFIX)
    with session(open_database(issuer_settings(data))) as db:
        kdf = db.scalars(select(KeyEncryptionRow)).one()
    assert (2**17, 8, 1, 16) == (kdf.n, kdf.r, kdf.p, len(kdf.salt))
    assert [] == _files_holding(data, b"PRIVATE KEY")


def test_wrong_passphrase_is_a_clear_error(tmp_path: Path, clock: FakeClock) -> None:
    """Starting with another passphrase, or none, fails with a message naming the variable."""
    data = tmp_path / "data"
    _first_key(data, clock, key_passphrase="correct horse battery")
    with pytest.raises(KeyDecryptionFailed, match="ISSUER_KEY_PASSPHRASE"):
        _first_key(data, clock, key_passphrase="wrong")
    with pytest.raises(KeyDecryptionFailed, match="ISSUER_KEY_PASSPHRASE"):
        _first_key(data, clock)


def test_passphrase_from_file(tmp_path: Path, clock: FakeClock) -> None:
    """ISSUER_KEY_PASSPHRASE_FILE (a compose secret) reads the same as the variable."""
    secret = tmp_path / "passphrase"
    secret.write_text("from a file\n")
    data = tmp_path / "data"
    kid = _first_key(data, clock, key_passphrase_file=secret)
    assert kid == _first_key(data, clock, key_passphrase="from a file")


def test_first_release_database_upgrades_in_place(tmp_path: Path, clock: FakeClock) -> None:
    """A key stored as the first release stored it (PKCS#8 PEM, BestAvailableEncryption) is
    rewrapped under scrypt at start, and the same key keeps signing: its tokens still verify."""
    data = tmp_path / "data"
    engine = open_database(issuer_settings(data))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = rsa_public_jwk(key.public_key())
    legacy_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"old release"),
    )
    with session(engine) as db, db.begin():
        db.add(
            SigningKeyRow(
                kid=jwk["kid"],
                generation=1,
                public_jwk=json.dumps(jwk),
                private_pem=legacy_pem,
                encrypted=True,
                created_at=clock() - 60,
                activates_at=clock() - 60,
                revoked_at=None,
                destroyed_at=None,
            )
        )
    engine.dispose()
    services = build_services(issuer_settings(data, key_passphrase="old release"), clock)
    services.keyring.refresh()
    kid, private = services.keyring.signing_key(clock())
    assert jwk["kid"] == kid
    token = jwt.encode({"sub": "x"}, private, algorithm="RS256")
    assert "x" == jwt.decode(token, key.public_key(), algorithms=["RS256"])["sub"]
    (row,) = _stored(data)
    assert row.private_pem is not None and row.private_pem.startswith(PREFIX)
    assert [] == _files_holding(data, legacy_pem[40:80])


def test_rewrap_changes_the_passphrase_and_keeps_the_keys(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`keys rewrap` moves every key from ISSUER_KEY_PASSPHRASE_OLD to ISSUER_KEY_PASSPHRASE:
    the same kid signs afterwards (no token is invalidated), the old passphrase no longer
    opens the keys, and the old ciphertext is gone from every file."""
    data = tmp_path / "data"
    kid = _first_key(data, clock, key_passphrase="first passphrase")
    (before,) = _stored(data)
    assert before.private_pem is not None
    monkeypatch.setenv("ISSUER_DATA_DIR", str(data))
    monkeypatch.setenv("ISSUER_KEY_PASSPHRASE_OLD", "first passphrase")
    monkeypatch.setenv("ISSUER_KEY_PASSPHRASE", "second passphrase")
    assert 0 == main(["keys", "rewrap"])
    assert kid == _first_key(data, clock, key_passphrase="second passphrase")
    with pytest.raises(KeyDecryptionFailed):
        _first_key(data, clock, key_passphrase="first passphrase")
    assert [] == _files_holding(data, before.private_pem[-48:])


def test_rewrap_adds_a_passphrase(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys stored unencrypted (no passphrase) are encrypted by `keys rewrap` with no old one."""
    data = tmp_path / "data"
    kid = _first_key(data, clock)
    monkeypatch.setenv("ISSUER_DATA_DIR", str(data))
    monkeypatch.setenv("ISSUER_KEY_PASSPHRASE", "now encrypted")
    assert 0 == main(["keys", "rewrap"])
    (row,) = _stored(data)
    assert row.private_pem is not None and row.private_pem.startswith(PREFIX)
    assert kid == _first_key(data, clock, key_passphrase="now encrypted")
    assert [] == _files_holding(data, b"PRIVATE KEY")


def test_rewrap_with_a_wrong_old_passphrase_changes_nothing(
    tmp_path: Path,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A wrong ISSUER_KEY_PASSPHRASE_OLD is a clear error naming it, with exit 2 as every bad
    setting (issue 21), and every key stays as it was, readable with the right passphrase."""
    data = tmp_path / "data"
    kid = _first_key(data, clock, key_passphrase="right")
    (before,) = _stored(data)
    monkeypatch.setenv("ISSUER_DATA_DIR", str(data))
    monkeypatch.setenv("ISSUER_KEY_PASSPHRASE_OLD", "wrong")
    monkeypatch.setenv("ISSUER_KEY_PASSPHRASE", "new")
    assert 2 == main(["keys", "rewrap"])
    assert "ISSUER_KEY_PASSPHRASE_OLD" in capsys.readouterr().err
    (after,) = _stored(data)
    assert before.private_pem == after.private_pem
    assert kid == _first_key(data, clock, key_passphrase="right")


@pytest.mark.parametrize("passphrase", [None, "correct horse battery"])
def test_destroyed_private_key_leaves_no_trace(
    tmp_path: Path, clock: FakeClock, passphrase: str | None, database: str
) -> None:
    """After a key is revoked, no file in the data directory (the database, its write-ahead
    log, its shared memory) holds any part of the stored private key. Before, they did."""
    if database != "sqlite":
        pytest.skip("scans SQLite's files; PostgreSQL's are the server's (see README)")
    data = tmp_path / "data"
    services = build_services(issuer_settings(data, key_passphrase=passphrase), clock)
    services.keyring.refresh()
    kid, _ = services.keyring.signing_key(clock())
    (row,) = _stored(data)
    assert row.private_pem is not None
    stored = row.private_pem
    samples = [stored[i : i + 32] for i in range(64, len(stored) - 32, 256)]
    assert any(_files_holding(data, sample) for sample in samples)
    services.keyring.lifecycle.revoke(kid, clock())
    assert [] == [name for sample in samples for name in _files_holding(data, sample)]
