"""Both OpenAPI documents against the running services, with every schemathesis check
(`st run --checks all`; schemathesis.toml says the one adjustment and why): undocumented
statuses or content types, responses off their schema, server errors, wrong answers to
undeclared methods, accepted schema violations. Real processes, bounded examples."""

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support import (
    ROOT,
    free_port,
    issuer_process_env,
    serve,
    wait_until_ready,
)

pytestmark = pytest.mark.slow

ST = str(Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "st")


def _schemathesis(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            ST, "--config-file", str(ROOT / "schemathesis.toml"), "run", f"{url}/openapi.json",
            "--checks", "all", "--max-examples", "25", "--seed", "1", *extra,
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def test_both_openapi_documents_pass_every_check(tmp_path: Path) -> None:
    issuer_port, api_port = free_port(), free_port()
    issuer, api = f"http://127.0.0.1:{issuer_port}", f"http://127.0.0.1:{api_port}"
    env = issuer_process_env(issuer, tmp_path / "data", DEMO_USERS="test:test")
    log = tmp_path / "services.log"
    with serve("issuer", issuer_port, env, log):
        wait_until_ready(f"{issuer}/readyz")
        with serve("resource_api", api_port, {"RESOURCE_API_ISSUER_URL": issuer}, log):
            wait_until_ready(f"{api}/readyz")
            token = httpx.post(
                f"{issuer}/token", data={"username": "test", "password": "test"}
            ).json()["access_token"]
            issuer_run = _schemathesis(issuer)
            api_run = _schemathesis(api, "-H", f"Authorization: Bearer {token}")
            anonymous_run = _schemathesis(api)
    for run in (issuer_run, api_run, anonymous_run):
        assert 0 == run.returncode, run.stdout[-6000:] + run.stderr[-2000:]
    assert "Traceback" not in log.read_text()
