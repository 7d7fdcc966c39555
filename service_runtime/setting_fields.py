"""What a settings field takes, in words: its type, default and accepted values, read from the
field's annotation and constraints, and its description: the field's own
(`Field(description=…)`), or else the comments beside it in the class's source. The start-up
errors and the configuration reference both say it this way, so that they cannot disagree with
each other or with what the class accepts."""

import ast
import inspect
import io
import textwrap
import tokenize
import types
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from service_runtime.setting_parsers import parse_duration, parse_list

_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


@dataclass(frozen=True)
class FieldFacts:
    name: str  # the environment variable: the prefix, then the field's name in capitals
    type: str
    default: str
    accepted: str
    description: str


def settings_fields(settings: type[BaseModel], prefix: str = "") -> list[FieldFacts]:
    """Every field of `settings`, in the order of the class, inherited fields last."""
    own = vars(settings).get("__annotations__", {})
    fields = sorted(settings.model_fields, key=lambda field: field not in own)
    return [field_facts(settings, field, prefix + field.upper()) for field in fields]


def field_facts(model: type[BaseModel], field: str, name: str) -> FieldFacts:
    info = model.model_fields[field]
    parser = _before_parser(model, field)
    return FieldFacts(
        name=name,
        type=_type_name(info, parser),
        default=_default(info, parser),
        accepted=accepted_values(model, field),
        description=info.description
        or _capitalized(field_comments(_defining_class(model, field)).get(field, "")),
    )


def accepted_values(model: type[BaseModel], field: str) -> str:
    """What the field accepts, e.g. `an integer from 60 to 86400`."""
    info = model.model_fields[field]
    parser = _before_parser(model, field)
    inner = _unwrap_optional(info.annotation)
    bounds = _bounds(info.metadata)
    if parser is parse_duration:
        return _joined("a duration", bounds) + " (seconds, or with a unit: 30s, 15m, 1h, 7d)"
    if _literals(inner):
        return "one of " + ", ".join(str(value) for value in _literals(inner))
    if inner is bool:
        return "true or false"
    if inner is int:
        return _joined("an integer", bounds)
    if inner is float:
        return _joined("a number", bounds)
    nested = nested_model(info.annotation)
    if nested is not None:
        return f"a JSON list of objects with the keys {describe_keys(nested)}"
    if typing.get_origin(inner) is list:
        (item,) = typing.get_args(inner)
        return _list_values(item, info.metadata, from_text=parser is parse_list)
    if inner is Path:
        return "a path"
    if typing.get_origin(inner) in (typing.Union, types.UnionType):
        return "a string, or a JSON list of strings"
    return _joined("a string", bounds)


def _list_values(item: Any, metadata: list[Any], *, from_text: bool) -> str:
    """`one or more of RS256, …` or `a list`: from the environment's text (parse_list), or
    inside a JSON setting as JSON."""
    at_least_one = any(isinstance(each, annotated_types.MinLen) for each in metadata)
    choices = ", ".join(map(str, _literals(item)))
    if choices:
        kind = f"{'one or more' if at_least_one else 'any'} of {choices}"
    else:
        kind = "a list of at least one item" if at_least_one else "a list"
    if from_text:
        return f"{kind} (comma- or space-separated, or a JSON list)"
    return f"a JSON list, {kind}" if choices else kind.replace("a list", "a JSON list", 1)


def nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a field holding a list of models (RESOURCE_API_ISSUERS' entries)."""
    inner = _unwrap_optional(annotation)
    if typing.get_origin(inner) is list:
        (item,) = typing.get_args(inner)
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item
    return None


def describe_keys(model: type[BaseModel]) -> str:
    return ", ".join(
        key if info.is_required() else f"{key} (optional)"
        for key, info in model.model_fields.items()
    )


@cache
def field_comments(cls: type) -> dict[str, str]:
    """Each field's description in `cls`'s own body: the comment lines right above it, the
    comment at the end of its line and a docstring right below it, joined (`type:` and `noqa`
    pragmas left out)."""
    source = textwrap.dedent(inspect.getsource(cls))
    lines = source.splitlines()
    comments = {
        token.start[0]: token.string.lstrip("#").strip()
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
        and not token.string.lstrip("# ").startswith(("type:", "noqa"))
    }
    (body,) = ast.parse(source).body
    assert isinstance(body, ast.ClassDef)  # getsource of a class is its statement
    found = {}
    for node, following in zip(body.body, [*body.body[1:], None], strict=True):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            above: list[str] = []
            line = node.lineno - 1
            while line in comments and lines[line - 1].lstrip().startswith("#"):
                above.insert(0, comments[line])
                line -= 1
            end = node.end_lineno or node.lineno
            beside = [comments[n] for n in range(node.lineno, end + 1) if n in comments]
            found[node.target.id] = " ".join(above + beside + _docstring(following))
    return found


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _docstring(node: ast.stmt | None) -> list[str]:
    """An attribute docstring: a string right below the field (PEP 257, pydantic)."""
    value = node.value if isinstance(node, ast.Expr) else None
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return [" ".join(value.value.split())]
    return []


def format_seconds(seconds: float) -> str:
    """1209600 as `14d`, 900 as `15m`, 2.5 as `2.5s`."""
    for unit, size in _UNITS:
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _defining_class(model: type[BaseModel], field: str) -> type:
    for cls in model.__mro__:
        if field in vars(cls).get("__annotations__", {}):
            return cls
    return model


def _before_parser(model: type[BaseModel], field: str) -> object:
    """parse_duration or parse_list when a `mode="before"` validator of the field is one."""
    for decorator in model.__pydantic_decorators__.field_validators.values():
        before = field in decorator.info.fields and decorator.info.mode == "before"
        if before and decorator.func in (parse_duration, parse_list):
            return decorator.func
    return None


def _type_name(info: FieldInfo, parser: object) -> str:
    inner = _unwrap_optional(info.annotation)
    if typing.get_origin(inner) in (typing.Union, types.UnionType):
        return " or ".join(_name(arg) for arg in typing.get_args(inner))
    if parser is parse_duration:
        return "duration"
    if nested_model(info.annotation) is not None:
        return "JSON"
    if _literals(inner):
        return "choice"
    return _name(inner)


def _name(annotation: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", Path: "path"}
    if annotation is SecretStr:
        return "secret"
    if typing.get_origin(annotation) is list:
        return "list"
    return names.get(annotation, str(annotation))


def _default(info: FieldInfo, parser: object) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(str(item) for item in value) or "empty"
    if parser is parse_duration:
        return format_seconds(float(value))
    return str(value)


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return args[0]
    if typing.get_origin(annotation) is typing.Annotated:
        return typing.get_args(annotation)[0]
    return annotation


def _literals(annotation: Any) -> tuple[object, ...]:
    return typing.get_args(annotation) if typing.get_origin(annotation) is Literal else ()


def _bounds(metadata: list[Any]) -> list[str]:
    """The constraints as phrases: `from 60 to 86400`, `above 0`, `not empty`."""
    words = {"ge": "at least", "gt": "above", "le": "at most", "lt": "below"}
    found: dict[str, object] = {}
    phrases = []
    for item in metadata:
        if isinstance(
            item, annotated_types.Ge | annotated_types.Gt | annotated_types.Le | annotated_types.Lt
        ):
            attribute = type(item).__name__.lower()
            found[words[attribute]] = getattr(item, attribute)
        if isinstance(item, annotated_types.MinLen) and item.min_length:
            phrases.append("(not empty)")
        if getattr(item, "pattern", None):
            phrases.append(f"matching {item.pattern}")
    if "at least" in found and "at most" in found:
        phrases.insert(0, f"from {found.pop('at least')} to {found.pop('at most')}")
    return [f"{word} {value}" for word, value in found.items()] + phrases


def _joined(kind: str, bounds: list[str]) -> str:
    return f"{kind} {', '.join(bounds)}".replace(", (", " (") if bounds else kind
