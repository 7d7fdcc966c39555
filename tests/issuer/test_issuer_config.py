"""Issuer settings are validated at start, with messages that name the variable."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from issuer.cli.main import main
from issuer.config import IssuerSettings
from service_runtime.settings import describe_settings_error


def _error(**values: object) -> str:
    with pytest.raises(ValidationError) as caught:
        IssuerSettings(**values)  # type: ignore[arg-type]
    return describe_settings_error(caught.value, IssuerSettings)


def test_bad_ttl_names_the_variable() -> None:
    """A TTL that is not a number is reported as ISSUER_ACCESS_TOKEN_TTL."""
    assert "ISSUER_ACCESS_TOKEN_TTL" in _error(access_token_ttl="soon")


def test_issuer_url_must_be_absolute_without_query() -> None:
    """RFC 8414 §2: the issuer identifier has no query or fragment."""
    assert "ISSUER_URL" in _error(url="http://localhost:8000/?x=1")
    assert "ISSUER_URL" in _error(url="localhost:8000")


def test_max_age_over_half_publish_ahead_is_refused() -> None:
    """Verifiers must see a key before it signs: max-age <= publish-ahead / 2."""
    message = _error(jwks_max_age=1900, key_publish_ahead="1h")
    assert "ISSUER_JWKS_MAX_AGE" in message


def test_durations_accept_units() -> None:
    """Rotation settings take seconds or 30d / 1h style durations."""
    settings = IssuerSettings(key_rotation_interval="30d", key_publish_ahead="1h")
    assert (30 * 86400, 3600) == (settings.key_rotation_interval, settings.key_publish_ahead)


def test_argon2_below_owasp_minimum_is_refused() -> None:
    """argon2id parameters below every OWASP configuration do not start."""
    assert "OWASP" in _error(argon2_memory_kib=8192, argon2_time_cost=1)


def test_key_size_is_one_of_the_allowed() -> None:
    """Only 2048, 3072 and 4096-bit RSA keys."""
    assert "ISSUER_KEY_SIZE" in _error(key_size=1024)


def test_cli_reports_bad_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The CLI exits 2 with the variable's name instead of a traceback."""
    monkeypatch.setenv("ISSUER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ISSUER_ACCESS_TOKEN_TTL", "-5")
    assert 2 == main(["users", "list"])
    assert "ISSUER_ACCESS_TOKEN_TTL" in capsys.readouterr().err


def test_lists_from_comma_separated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """ISSUER_DEMO_USERS and ISSUER_CORS_ORIGINS read as comma-separated lists."""
    monkeypatch.setenv("ISSUER_DEMO_USERS", "test:test,ann:secret")
    monkeypatch.setenv("ISSUER_CORS_ORIGINS", "http://localhost:8001")
    settings = IssuerSettings()
    assert [("test", "test"), ("ann", "secret")] == settings.demo_credentials()
    assert ["http://localhost:8001"] == settings.cors_origins
