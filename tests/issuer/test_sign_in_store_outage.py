"""A database failure behind the browser sign-in's pages (/authorize, /logout) is a 503 page
with Retry-After, never a bare 500 (RFC 6749 §4.1.2.1 temporarily_unavailable; OWASP ASVS
V7.4.1: a generic message, nothing of the failure shown)."""

from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from jwtkit.testing import FakeClock
from tests.issuer.sign_in import code_flow_issuer, form_of, params, sign_in

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]


def _broken(*_args: object, **_kwargs: object) -> None:
    raise OperationalError("SELECT", {}, Exception("disk I/O error"))


@pytest.mark.parametrize(
    "failing",
    [
        "clients.get",
        "sign_in_sessions.current",
        "sign_in_sessions.start",
        "authorization_codes.issue",
    ],
)
async def test_a_store_failure_at_authorize_is_a_503_page(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    async with code_flow_issuer(tmp_path, clock) as (client, services):
        owner, method = failing.split(".")
        page = await client.get("/authorize", params=params())
        assert 200 == page.status_code, page.text
        monkeypatch.setattr(getattr(services, owner), method, _broken)
        if owner == "clients" or method == "current":
            answer = await client.get("/authorize", params=params())
        else:
            answer = await client.post(
                "/authorize",
                data={**form_of(page), "username": "alice", "password": "alice-pw"},
            )
    assert (503, "5") == (answer.status_code, answer.headers.get("retry-after"))
    assert answer.headers["content-type"].startswith("text/html")
    assert "disk I/O" not in answer.text
    assert "try again" in answer.text


@pytest.mark.parametrize("failing", ["clients.get", "sign_in_sessions.end"])
async def test_a_store_failure_at_logout_is_a_503_page(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    async with code_flow_issuer(tmp_path, clock) as (client, services):
        signed_in = await sign_in(client, params())
        assert 303 == signed_in.status_code, signed_in.text
        query = {"client_id": "web", "post_logout_redirect_uri": "http://127.0.0.1:9000/callback"}
        page = await client.get("/logout", params=query)
        assert 200 == page.status_code, page.text
        owner, method = failing.split(".")
        monkeypatch.setattr(getattr(services, owner), method, _broken)
        if owner == "clients":
            answer = await client.get("/logout", params=query)
        else:
            answer = await client.post("/logout", data=form_of(page))
    assert (503, "5") == (answer.status_code, answer.headers.get("retry-after"))
    assert answer.headers["content-type"].startswith("text/html")
    assert "disk I/O" not in answer.text
