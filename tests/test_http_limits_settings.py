"""The HTTP limits are settings of both services, validated at start with messages that name
the variable, and handed to `serve` as one HttpLimits."""

import pytest
from pydantic import ValidationError

from issuer.config import IssuerSettings
from resource_api.config import ResourceApiSettings
from shared.http_limits import HttpLimits
from shared.settings import describe_settings_error


def _error(settings: type[IssuerSettings | ResourceApiSettings], **values: object) -> str:
    prefix = "ISSUER_" if settings is IssuerSettings else "RESOURCE_API_"
    with pytest.raises(ValidationError) as caught:
        settings(**values)  # type: ignore[arg-type]
    return describe_settings_error(caught.value, prefix)


def test_defaults_are_16_kib_10_s_10_s_and_1000_connections() -> None:
    """Both services default to the limits the README names."""
    expected = HttpLimits(
        max_header_bytes=16384, header_timeout=10, body_timeout=10, max_connections=1000
    )
    assert expected == IssuerSettings().http_limits()
    assert expected == ResourceApiSettings().http_limits()


def test_limits_from_the_environment_take_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    """RESOURCE_API_HTTP_…: the timeouts accept 30s / 1m style durations."""
    monkeypatch.setenv("RESOURCE_API_HTTP_MAX_HEADER_BYTES", "8192")
    monkeypatch.setenv("RESOURCE_API_HTTP_HEADER_TIMEOUT", "30s")
    monkeypatch.setenv("RESOURCE_API_HTTP_BODY_TIMEOUT", "1m")
    monkeypatch.setenv("RESOURCE_API_HTTP_MAX_CONNECTIONS", "50")
    assert HttpLimits(8192, 30, 60, 50) == ResourceApiSettings().http_limits()


@pytest.mark.parametrize("settings", [IssuerSettings, ResourceApiSettings])
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("http_max_header_bytes", 100),
        ("http_max_header_bytes", 1 << 30),
        ("http_header_timeout", 0),
        ("http_body_timeout", "soon"),
        ("http_max_connections", 0),
    ],
)
def test_a_bad_limit_names_its_variable(
    settings: type[IssuerSettings | ResourceApiSettings], name: str, value: object
) -> None:
    """A limit out of range does not start, and the message names the variable."""
    prefix = "ISSUER_" if settings is IssuerSettings else "RESOURCE_API_"
    assert prefix + name.upper() in _error(settings, **{name: value})
