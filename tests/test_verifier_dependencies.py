"""An app that only verifies needs fastapi, httpx, pyjwt and cryptography, nothing the issuer
needs. scripts/check-verifier-install (run by .ci/run) proves it in a venv with exactly the
README's install line; here the services' packages are hidden from a child process."""

import re
import subprocess
import sys
import tomllib

from tests.support import ROOT

# Refuses every module the services alone need, then runs the verify-only app.
HIDDEN = """
import importlib.abc, runpy, sys
sys.path.insert(0, {root!r})
from tests.verify_only import SERVICE_ONLY

class Hidden(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in SERVICE_ONLY:
            raise ModuleNotFoundError(f"hidden: {{name}}")
        return None

sys.meta_path.insert(0, Hidden())
runpy.run_path({script!r}, run_name="__main__")
"""


def test_the_package_depends_on_the_verifiers_needs_only() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {
        re.split(r"[\[<>=~!; ]", requirement)[0].lower() for requirement in project["dependencies"]
    }
    assert {"fastapi", "httpx", "pyjwt", "cryptography"} == names
    assert "argon2-cffi>=23.1" in project["optional-dependencies"]["issuer"]


def test_the_verifier_runs_with_the_services_packages_hidden() -> None:
    code = HIDDEN.format(root=str(ROOT), script=str(ROOT / "tests" / "verify_only.py"))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert 0 == result.returncode, result.stdout + result.stderr
    assert "work with their own dependencies" in result.stdout
