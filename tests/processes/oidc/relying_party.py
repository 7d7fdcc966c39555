"""panva's openid-client 6 as a relying party, driven step by step from a test: npm installs
it into a temporary folder (as tests/processes/test_signing_interop.py does for `jose`), and
rp.mjs runs one of its steps per call, JSON in and out."""

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).with_name("rp.mjs")


def install(folder: Path) -> Path | None:
    """`folder` with openid-client 6 and rp.mjs in it; None without node, where a missing node
    is allowed (it is not under REQUIRE_NODE, which CI sets)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("REQUIRE_NODE"):
            pytest.fail("REQUIRE_NODE is set but node and npm are not installed")
        return None
    (folder / "package.json").write_text('{"type": "module", "private": true}')
    subprocess.run(
        ["npm", "install", "--silent", "--no-audit", "--no-fund", "openid-client@6"],
        cwd=folder,
        check=True,
        timeout=180,
        capture_output=True,
    )
    shutil.copy(SCRIPT, folder / SCRIPT.name)
    return folder


class RelyingParty:
    """One registered client of one issuer, as openid-client sees it."""

    def __init__(self, folder: Path, issuer: str, client_id: str, client_secret: str) -> None:
        self.folder = folder
        self.identity = {"issuer": issuer, "client_id": client_id, "client_secret": client_secret}

    def step(self, name: str, **values: Any) -> dict[str, Any]:
        """The step's output; a refusal by openid-client fails the test with its reason."""
        done = subprocess.run(
            ["node", SCRIPT.name, name],
            cwd=self.folder,
            input=json.dumps({**self.identity, **values}),
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            pytest.fail(f"openid-client refused at {name}: {done.stdout} {done.stderr}")
        output: dict[str, Any] = json.loads(done.stdout)
        return output
