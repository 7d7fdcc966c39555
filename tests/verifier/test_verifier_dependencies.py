"""An app that only verifies needs fastapi, httpx, pyjwt and cryptography, nothing the issuer
needs. scripts/check-verifier-install (run by .ci/run) proves it in a venv with exactly the
README's install line; here the services' packages are hidden from a child process."""

import re
import subprocess
import sys
import tomllib

from tests.basics import ROOT

# Refuses every module the services alone need, then runs the verify-only app.
HIDDEN = """
import importlib.abc, runpy, sys
sys.path.insert(0, {root!r})
from tests.verifier.verify_only import SERVICE_ONLY

class Hidden(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in SERVICE_ONLY:
            raise ModuleNotFoundError(f"hidden: {{name}}")
        return None

sys.meta_path.insert(0, Hidden())
runpy.run_path({script!r}, run_name="__main__")
"""


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=~!; ]", requirement)[0].lower() for requirement in requirements}


def test_the_package_depends_on_the_verifiers_needs_only() -> None:
    """jwtkit (shared/) needs the four; the services' distribution depends on jwtkit and keeps
    the services' own needs in its extras."""
    jwtkit = tomllib.loads((ROOT / "shared" / "pyproject.toml").read_text())["project"]
    assert {"fastapi", "httpx", "pyjwt", "cryptography"} == _names(jwtkit["dependencies"])
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert {"jwtkit"} == _names(project["dependencies"])
    assert "argon2-cffi>=23.1" in project["optional-dependencies"]["issuer"]


def test_the_verifier_runs_with_the_services_packages_hidden() -> None:
    code = HIDDEN.format(root=str(ROOT), script=str(ROOT / "tests" / "verifier" / "verify_only.py"))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert 0 == result.returncode, result.stdout + result.stderr
    assert "work with their own dependencies" in result.stdout
