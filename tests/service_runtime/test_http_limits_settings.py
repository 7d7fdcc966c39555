"""The HTTP limits are settings of both services, validated at start with messages that name
the variable, and handed to `serve` as one HttpLimits."""

import re

import pytest
from pydantic import ValidationError

from issuer.config import IssuerSettings
from resource_api.config import ResourceApiSettings
from service_runtime.http_limits import HttpLimits
from service_runtime.settings import describe_settings_error
from tests.support import ROOT


def _error(settings: type[IssuerSettings | ResourceApiSettings], **values: object) -> str:
    with pytest.raises(ValidationError) as caught:
        settings(**values)  # type: ignore[arg-type]
    return describe_settings_error(caught.value, settings)


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


def _nginx_directives() -> dict[str, list[str]]:
    text = (ROOT / "deploy" / "nginx" / "ha.conf").read_text()
    found = re.findall(r"^\s*(client_\w+|large_client_header_buffers)\s+([^;]+);", text, re.M)
    return {name: value.split() for name, value in found}


def _nginx_bytes(size: str) -> int:
    return int(size.removesuffix("k")) * (1024 if size.endswith("k") else 1)


def test_nginx_in_the_ha_shape_holds_the_services_limits() -> None:
    """deploy/nginx/ha.conf: header and body timeouts equal to the services' defaults, and a
    head buffer (the 1k one plus the large ones) no larger than their 16 KiB, so that nothing
    nginx forwards is refused by a replica and nothing over 16 KiB gets through."""
    limits = HttpLimits()
    nginx = _nginx_directives()
    assert [f"{limits.header_timeout:g}s"] == nginx["client_header_timeout"]
    assert [f"{limits.body_timeout:g}s"] == nginx["client_body_timeout"]
    (small,) = nginx["client_header_buffer_size"]
    number, size = nginx["large_client_header_buffers"]
    assert _nginx_bytes(small) + int(number) * _nginx_bytes(size) <= limits.max_header_bytes


def test_the_compose_files_run_serve_at_the_default_limits() -> None:
    """Both compose files start the services with `serve` (the issuer's command, the resource
    API's image default) and override no HTTP limit."""
    single = (ROOT / "docker-compose.yml").read_text()
    ha = (ROOT / "docker-compose.ha.yml").read_text()
    image = (ROOT / "Dockerfile").read_text()
    assert "exec python -m issuer serve" in single
    assert '"resource_api", "serve"' in image
    assert not re.search(r"^\s*(ISSUER|RESOURCE_API)_HTTP_\w+\s*:", single + ha, re.M)
