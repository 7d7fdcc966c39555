"""The issuer's layers: only the HTTP edge (issuer/api/, issuer/app.py) imports a web framework.
The error tree, the stores, the domain, the services and their wiring import neither FastAPI nor
Starlette, directly or through another issuer module."""

import json
import subprocess
import sys

from tests.basics import ROOT

WEB_FRAMEWORKS = ("fastapi", "starlette")

# Run in a fresh interpreter: records who imports whom while every issuer module outside the
# edge is imported, then prints each module's chain of issuer modules down to a web framework.
# The jwtkit library is a dependency like any other: its own FastAPI integration (BearerAuth)
# loads FastAPI when jwtkit is imported, so imports are followed through issuer modules only.
_IMPORT_GRAPH = """
import builtins, importlib, importlib.util, json, pkgutil, sys
import issuer

EDGE = ("issuer.api", "issuer.app")
# Run, not imported: the entry point runs the CLI, Alembic's env runs the migrations.
ENTRY_POINTS = ("issuer.__main__", "issuer.migrations.env")
edges = {}
original = builtins.__import__

def recording(name, globals=None, locals=None, fromlist=(), level=0):
    importer = (globals or {}).get("__name__", "")
    package = (globals or {}).get("__package__") or importer
    target = importlib.util.resolve_name("." * level + name, package) if level else name
    edges.setdefault(importer, set()).add(target)
    for item in fromlist or ():
        edges[importer].add(f"{target}.{item}")
    return original(name, globals, locals, fromlist, level)

builtins.__import__ = recording
names = [
    module.name
    for module in pkgutil.walk_packages(issuer.__path__, "issuer.")
    if not module.name.startswith(EDGE) and module.name not in ENTRY_POINTS
]
for name in names:
    importlib.import_module(name)
builtins.__import__ = original

def chain(start):
    seen, todo = {start: [start]}, [start]
    while todo:
        here = todo.pop()
        for target in sorted(edges.get(here, ())):
            if target.split(".")[0] in ("fastapi", "starlette"):
                return seen[here] + [target]
            if target.startswith("issuer.") and target in sys.modules and target not in seen:
                seen[target] = seen[here] + [target]
                todo.append(target)
    return None

print(json.dumps({"modules": names, "chains": {name: chain(name) for name in names}}))
"""


def _import_graph() -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_GRAPH],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    graph: dict[str, object] = json.loads(done.stdout)
    return graph


def test_no_issuer_module_outside_the_http_edge_imports_a_web_framework() -> None:
    """Every module outside issuer/api/ and issuer/app.py, imported in a fresh interpreter:
    none reaches fastapi or starlette through its own imports or another issuer module's."""
    graph = _import_graph()
    modules, chains = graph["modules"], graph["chains"]
    assert isinstance(modules, list) and isinstance(chains, dict)
    # The layers this rule is about are among them (a walk that found nothing proves nothing).
    assert {
        "issuer.errors",
        "issuer.services",
        "issuer.wiring",
        "issuer.store.db",
        "issuer.store.failures",
        "issuer.accounts.users",
        "issuer.clients.registry",
        "issuer.keys.store",
        "issuer.sessions.refresh_tokens",
        "issuer.cli.main",
    } <= set(modules)
    assert {} == {name: found for name, found in chains.items() if found is not None}


def test_the_error_tree_loads_no_web_framework() -> None:
    """`import issuer.errors` alone, in a fresh interpreter, leaves no fastapi or starlette
    module loaded: a store that raises a domain error needs no framework."""
    code = (
        "import sys, issuer.errors; "
        f"print(sorted(n for n in sys.modules if n.split('.')[0] in {WEB_FRAMEWORKS!r}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "[]" == done.stdout.strip()
