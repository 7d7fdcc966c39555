"""The services' settings problems, told one line each: the variable, the value, what was
wrong and what would be right, e.g.

    ISSUER_ACCESS_TOKEN_TTL=-5: input should be greater than or equal to 60 (expected an
    integer from 60 to 86400)

(one line in fact). Values of secrets are never shown; a password in a URL is masked.
"""

import re
import shlex
import sys
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from service_runtime.setting_fields import accepted_values, describe_keys, nested_model
from service_runtime.setting_parsers import parse_duration as parse_duration
from service_runtime.setting_parsers import parse_list as parse_list

# The exit status of a service or command that cannot start with its settings or arguments.
EXIT_BAD_SETTINGS = 2

_URL_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")
_SHOWN_LENGTH = 80


class SettingProblem(Exception):
    """A setting that passed validation but cannot be used (a data directory that is a file,
    an unreachable database), or an env file that cannot be read; found at start."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name


class InvalidSettings(Exception):
    """The settings do not start the service: one line per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines

    def report(self) -> int:
        """Prints the lines on stderr; the exit status for the caller to return."""
        for line in self.lines:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_BAD_SETTINGS


def describe_settings_error(error: ValidationError, settings: type[BaseModel]) -> str:
    """One line per problem in `error`, raised by the settings class `settings`."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    return "\n".join(_describe(problem, settings, prefix) for problem in error.errors())


def _describe(problem: Any, settings: type[BaseModel], prefix: str) -> str:
    message = _sentence(problem["msg"])
    loc = problem["loc"]
    if not loc:  # a rule across several variables; its message names them
        return message
    field = str(loc[0])
    name = prefix + field.upper()
    if field not in settings.model_fields:
        return f"{name}: {message}"
    nested = nested_model(settings.model_fields[field].annotation)
    if nested is not None and len(loc) > 1:
        return _describe_entry(problem, name, loc, nested, message)
    shown = _shown(problem.get("input"), settings.model_fields[field].annotation)
    # A validator's own message says what is expected, as a Literal's lists the choices.
    told = problem["type"] in ("value_error", "literal_error")
    expected = "" if told else f" (expected {_accepted(settings, field)})"
    return f"{name}{shown}: {message}{expected}"


def _describe_entry(
    problem: Any, name: str, loc: tuple[Any, ...], nested: type[BaseModel], message: str
) -> str:
    """A problem in one entry of a list of objects, such as RESOURCE_API_ISSUERS[0]."""
    where = f"{name}[{loc[1]}]"
    if len(loc) < 3:
        return f"{where}: {message} (expected an object with the keys {describe_keys(nested)})"
    key = str(loc[2])
    if problem["type"] == "extra_forbidden":
        return f"{where}: unknown key {key!r} (the keys are {describe_keys(nested)})"
    if problem["type"] == "missing":
        return f"{where}: the key {key!r} is required (the keys are {describe_keys(nested)})"
    return f"{where}.{key}: {message} (expected {_accepted(nested, key)})"


def _accepted(model: type[BaseModel], field: str) -> str:
    return accepted_values(model, field) if field in model.model_fields else "a valid value"


def _sentence(message: str) -> str:
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:] if message[1:2].islower() else message


def _shown(value: object, annotation: object) -> str:
    """`=VALUE` for the line, quoted for a shell; nothing for secrets or structured values."""
    if annotation in (SecretStr, SecretStr | None) or not isinstance(value, str | int | float):
        return ""
    text = _URL_PASSWORD.sub(r"\1***@", str(value))
    if len(text) > _SHOWN_LENGTH:
        text = text[: _SHOWN_LENGTH - 1] + "…"
    return "=" + shlex.quote(text)
