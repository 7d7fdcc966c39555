"""docs/configuration.md is generated from the settings classes: a setting added, removed or
changed without regenerating it fails here (run `python -m service_runtime.settings_reference`)."""

from pathlib import Path

import pytest
from pydantic import BaseModel

from issuer.config import IssuerSettings
from resource_api.config import ResourceApiSettings, TrustedIssuerSettings
from service_runtime.setting_fields import settings_fields
from service_runtime.settings_reference import REFERENCE, main, render


def test_the_committed_reference_is_what_the_classes_accept() -> None:
    """The file equals what the generator makes from the code now."""
    assert render() == REFERENCE.read_text(encoding="utf-8"), (
        "docs/configuration.md is out of date: run python -m service_runtime.settings_reference"
    )


def test_check_mode_fails_on_a_stale_file(tmp_path: Path) -> None:
    """`--check` exits 1 when the file differs and 0 when it matches (what CI can call)."""
    stale = tmp_path / "configuration.md"
    stale.write_text("# old\n")
    assert 1 == main(["--check", "--output", str(stale)])
    assert 0 == main(["--output", str(stale)])
    assert 0 == main(["--check", "--output", str(stale)])


@pytest.mark.parametrize(
    ("settings", "prefix"),
    [
        (IssuerSettings, "ISSUER_"),
        (ResourceApiSettings, "RESOURCE_API_"),
        (TrustedIssuerSettings, ""),
    ],
)
def test_every_setting_is_described(settings: type[BaseModel], prefix: str) -> None:
    """Each field has a description (a comment beside it in its class), a type and a default."""
    undescribed = [
        facts.name for facts in settings_fields(settings, prefix) if not facts.description
    ]
    assert [] == undescribed


def test_every_setting_is_in_the_reference() -> None:
    """Every variable of both services appears in the reference, with its accepted values."""
    text = render()
    for settings, prefix in ((IssuerSettings, "ISSUER_"), (ResourceApiSettings, "RESOURCE_API_")):
        for facts in settings_fields(settings, prefix):
            assert f"| `{facts.name}` |" in text
    assert "| `ISSUER_ACCESS_TOKEN_TTL` | integer | `900` | an integer from 60 to 86400 |" in text
    assert "| `ISSUER_KEY_ROTATION_INTERVAL` | duration | `30d` |" in text
