"""Reading a service's settings: from the environment and from an env file, the environment
winning (pydantic-settings: init arguments, then environment variables, then the dotenv file,
then the defaults).

The env file is `--env-file PATH` or the variable PREFIX_ENV_FILE (`ISSUER_ENV_FILE`,
`RESOURCE_API_ENV_FILE`), NAME=VALUE lines read like the environment. A settings class that
inherits EnvFileSettings reads PREFIX_ENV_FILE itself, so that `serve`'s workers, which build
their settings in the app factory, read the same file as the command that started them.
"""

import difflib
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from dotenv import dotenv_values
from pydantic import ValidationError
from pydantic_settings import BaseSettings, DotEnvSettingsSource, PydanticBaseSettingsSource

from service_runtime.settings import InvalidSettings, SettingProblem, describe_settings_error

logger = logging.getLogger("service_runtime.settings")

Settings = TypeVar("Settings", bound=BaseSettings)

# Variables with a service's prefix that are not its settings: docker compose reads them on the
# host (docker-compose.yml), never the service.
NOT_SETTINGS = frozenset({"ISSUER_PORT", "RESOURCE_API_PORT", "ISSUER_KEY_PASSPHRASE_SOURCE"})


def env_prefix(settings: type[BaseSettings]) -> str:
    return str(settings.model_config.get("env_prefix", ""))


def env_file_variable(settings: type[BaseSettings]) -> str:
    return f"{env_prefix(settings)}ENV_FILE"


class EnvFileSettings(BaseSettings):
    """Settings that read the env file PREFIX_ENV_FILE names, when none is passed."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        named = os.environ.get(env_file_variable(settings_cls))
        passed = isinstance(dotenv_settings, DotEnvSettingsSource) and dotenv_settings.env_file
        if named and not passed:
            dotenv_settings = DotEnvSettingsSource(settings_cls, env_file=named)
        return init_settings, env_settings, dotenv_settings, file_secret_settings


def load_settings(settings: type[Settings], env_file: Path | None = None) -> Settings:
    """The settings from the environment and the env file (`env_file`, else PREFIX_ENV_FILE).

    Raises InvalidSettings, one line per problem, when the file cannot be read or a value is
    refused.
    """
    path, source = _env_file(settings, env_file)
    try:
        if path is not None:
            _check_env_file(path, source)
        return settings(_env_file=path)
    except SettingProblem as problem:
        raise InvalidSettings([str(problem)]) from None
    except ValidationError as error:
        raise InvalidSettings(describe_settings_error(error, settings).splitlines()) from None


def export_env_file(settings: type[BaseSettings], env_file: Path | None) -> None:
    """Names `--env-file` in PREFIX_ENV_FILE for the processes this one starts (`serve`'s
    workers), as an absolute path: they read it in the app factory."""
    if env_file is not None:
        os.environ[env_file_variable(settings)] = str(env_file.absolute())


def warn_unknown_variables(settings: type[BaseSettings], env_file: Path | None = None) -> None:
    """Logs one warning per PREFIX_ variable, in the environment or the env file, that is not
    a setting (a misspelt one is otherwise ignored), with the closest known name."""
    path, _source = _env_file(settings, env_file)
    in_file = dotenv_values(path) if path is not None and path.is_file() else {}
    for line in unknown_variables(settings, os.environ, in_file, str(path)):
        logger.warning(line)


def unknown_variables(
    settings: type[BaseSettings],
    environ: Iterable[str],
    in_file: Iterable[str] = (),
    file_name: str = "",
) -> list[str]:
    prefix = env_prefix(settings)
    known = {prefix + field.upper() for field in settings.model_fields}
    known.add(env_file_variable(settings))
    lines = []
    for where, names in (("the environment", environ), (file_name, in_file)):
        for name in sorted(names):
            upper = name.upper()
            if not upper.startswith(prefix) or upper in known or upper in NOT_SETTINGS:
                continue
            closest = difflib.get_close_matches(upper, sorted(known), n=1)
            hint = f"; did you mean {closest[0]}?" if closest else ""
            lines.append(f"{name} (in {where}) is not a setting and is ignored{hint}")
    return lines


def _env_file(settings: type[BaseSettings], given: Path | None) -> tuple[Path | None, str]:
    if given is not None:
        return given, "--env-file"
    variable = env_file_variable(settings)
    named = os.environ.get(variable)
    return (Path(named), variable) if named else (None, variable)


def _check_env_file(path: Path, source: str) -> None:
    """The file can be read: pydantic-settings would skip a missing one in silence."""
    expected = "expected a readable file of NAME=VALUE lines"
    where = f"{source}={path}"
    try:
        path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingProblem(where, f"no such file ({path.absolute()}); {expected}") from None
    except IsADirectoryError:
        raise SettingProblem(where, f"is a directory; {expected}") from None
    except PermissionError:
        raise SettingProblem(where, f"cannot be read (permission denied); {expected}") from None
    except UnicodeDecodeError:
        raise SettingProblem(where, f"is not UTF-8 text; {expected}") from None
    except OSError as error:
        raise SettingProblem(where, f"cannot be read ({error.strerror}); {expected}") from None
