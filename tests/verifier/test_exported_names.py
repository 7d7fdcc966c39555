"""jwtkit's public face, as httpx checks its own (tests/test_exported_members.py there): what
`__all__` lists is exactly the public names of the package (and of jwtkit.contract and
jwtkit.testing), sorted and importable; every type a public signature names is exported; and
nothing in the repository outside shared/ imports a private jwtkit module.

`python -m jwtkit` is the inspector's entry point, so `jwtkit.__main__` (its `main`) is a
public module by the language's convention, not a private one."""

import ast
import enum
import inspect
import re
import subprocess
import types
import typing
from pathlib import Path

import pytest

import jwtkit
import jwtkit.contract
import jwtkit.testing

ROOT = Path(__file__).resolve().parents[2]
# Public submodules: attributes of the package once imported, never in its __all__ (the
# pytest plugin loads `testing`); `contract` is exported as a module.
SUBMODULES = {"pytest_plugin", "testing"}
# A private module or name is `_x`; the dunders (`__version__`, `__main__`) are public.
PRIVATE_IMPORT = re.compile(r"\bjwtkit\._[a-z]|\bfrom jwtkit import [^\n]*\b_[a-z]")


def _imported(module: types.ModuleType) -> set[str]:
    """The names a module imports, except what it imports from a private jwtkit module that
    the package does not already export (its own public names, kept there)."""
    source = Path(inspect.getfile(module)).read_text()
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            reexported = isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "jwtkit._"
            )
            for alias in node.names:
                name = (alias.asname or alias.name).split(".")[0]
                if not reexported or name in jwtkit.__all__:
                    names.add(name)
    return names


def _public_names(module: types.ModuleType) -> list[str]:
    """The package: every public name it holds (what it imports is what it exports); a
    module: the public names it defines (not those it imports)."""
    imported = set() if module is jwtkit else _imported(module)
    return sorted(
        (
            name
            for name, value in vars(module).items()
            # Not `@py_builtins`: pytest rewrites the asserts of an installed plugin's package.
            if name.isidentifier()
            and (not name.startswith("_") or name == "__version__")
            and name not in imported
            and not (isinstance(value, types.ModuleType) and name in SUBMODULES)
        ),
        key=_isort_order,
    )


def _isort_order(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps `__all__` in: CONSTANTS, then Classes, then the rest."""
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return kind, name


@pytest.mark.parametrize("module", [jwtkit, jwtkit.contract, jwtkit.testing])
def test_all_lists_exactly_the_public_names_sorted(module: types.ModuleType) -> None:
    """Every public name of the module is in `__all__` and nothing else is; sorted."""
    assert _public_names(module) == module.__all__


@pytest.mark.parametrize("module", [jwtkit, jwtkit.contract, jwtkit.testing])
def test_every_exported_name_imports(module: types.ModuleType) -> None:
    """`from jwtkit import *` gives every name in `__all__`."""
    namespace: dict[str, object] = {}
    exec(f"from {module.__name__} import *", namespace)  # noqa: S102  # the import under test
    assert set(module.__all__) <= set(namespace)


def _named_types(annotation: object) -> set[type]:
    found: set[type] = set()
    if isinstance(annotation, type):
        found.add(annotation)
    for argument in typing.get_args(annotation):
        found |= _named_types(argument)
    return found


def _signature_types() -> set[type]:
    types_seen: set[type] = set()
    for name in jwtkit.__all__:
        value = getattr(jwtkit, name)
        callables = [vars(value).get("__init__") if isinstance(value, type) else value]
        for function in callables:
            if inspect.isfunction(function):
                hints = typing.get_type_hints(function)
                for hint in hints.values():
                    types_seen |= _named_types(hint)
    return types_seen


def test_every_type_a_public_constructor_or_function_takes_is_exported() -> None:
    """What a user passes to a public class or function, a user can import (from jwtkit or
    jwtkit.contract): no private module in a user's annotations. An enum member such as
    ANY_AUDIENCE is passed, never its class."""
    exported = {id(getattr(jwtkit, name)) for name in jwtkit.__all__} | {
        id(getattr(jwtkit.contract, name)) for name in jwtkit.contract.__all__
    }
    private = {
        kind.__qualname__
        for kind in _signature_types()
        if kind.__module__.startswith("jwtkit.")
        and id(kind) not in exported
        and not issubclass(kind, enum.Enum)
    }
    assert set() == private


def test_every_verifier_error_is_exported() -> None:
    """The error tree (jwtkit._errors) is public: apps catch and map it."""
    errors = {
        value
        for value in vars(jwtkit).values()
        if isinstance(value, type) and issubclass(value, jwtkit.VerifierError)
    }
    assert {error.__name__ for error in errors} <= set(jwtkit.__all__)
    defined = {
        value
        for value in vars(__import__("jwtkit._errors").__dict__["_errors"]).values()
        if isinstance(value, type) and issubclass(value, Exception) and value is not Exception
    }
    assert defined <= errors


def test_no_module_outside_shared_imports_a_private_jwtkit_module() -> None:
    """The services, the benchmarks and the tests use jwtkit as any user does."""
    listed = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    offenders = [
        f"{path}:{number}"
        for path in listed
        if not path.startswith("shared/") and path != "tests/verifier/test_exported_names.py"
        for number, line in enumerate((ROOT / path).read_text().splitlines(), 1)
        if PRIVATE_IMPORT.search(line)
    ]
    assert [] == offenders


def test_the_openid_connect_names_are_the_ones_the_issuer_codes_to() -> None:
    """Issue 22's interfaces (notes: oidc-decisions.md): IdTokenVerifier with verify(token, *,
    nonce, max_age, access_token) and verify_hint(token); the contract's ID and logout token
    types and half_hash; the testing kit's id_token and id_token_verifier."""
    assert "IdTokenVerifier" in jwtkit.__all__
    verify = inspect.signature(jwtkit.IdTokenVerifier.verify).parameters
    assert ["self", "token", "nonce", "max_age", "access_token"] == list(verify)
    assert all(verify[name].kind is inspect.Parameter.KEYWORD_ONLY for name in list(verify)[2:])
    assert ["self", "token"] == list(
        inspect.signature(jwtkit.IdTokenVerifier.verify_hint).parameters
    )
    assert {"ID_TOKEN_TYPE", "LOGOUT_TOKEN_TYPE", "half_hash"} <= set(jwtkit.contract.__all__)
    assert ("JWT", "logout+jwt") == (
        jwtkit.contract.ID_TOKEN_TYPE,
        jwtkit.contract.LOGOUT_TOKEN_TYPE,
    )
    assert callable(jwtkit.testing.FakeIssuer.id_token)
    assert callable(jwtkit.testing.FakeIssuer.id_token_verifier)
