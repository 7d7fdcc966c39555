"""What validation cannot see in the issuer's settings, checked before `serve` starts and before
every command: that the data directory, the key passphrase files and the database can be used.
Each problem is a SettingProblem naming its variable, told in one line; without these checks
they surface as tracebacks from deep in SQLAlchemy or the key store."""

import os
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from issuer.config import IssuerSettings
from service_runtime.settings import InvalidSettings, SettingProblem
from service_runtime.settings_loading import load_settings


def check_settings_usable(settings: IssuerSettings) -> None:
    """Raises SettingProblem for the first setting the issuer could not use."""
    _check_passphrase_file("ISSUER_KEY_PASSPHRASE_FILE", settings.key_passphrase_file)
    _check_passphrase_file("ISSUER_KEY_PASSPHRASE_OLD_FILE", settings.key_passphrase_old_file)
    url = make_url(settings.sqlalchemy_url)
    if url.get_backend_name() == "sqlite":
        data_dir = settings.data_dir
        _check_writable_directory(f"ISSUER_DATA_DIR={data_dir}", data_dir, creatable=True)
        if settings.database_url is not None and url.database:
            where = f"ISSUER_DATABASE_URL={settings.database_url}"
            _check_writable_directory(where, Path(url.database).parent, creatable=False)
    else:
        _check_reachable(url, settings.db_connect_timeout)


def _check_writable_directory(where: str, directory: Path, *, creatable: bool) -> None:
    """A directory the issuer may create its files in, or (`creatable`: the data directory,
    which the engine creates) one it may create; SQLite never creates a file's directory."""
    existing = directory
    while creatable and not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.exists():
        raise SettingProblem(where, f"no such directory ({directory.absolute()})")
    if not existing.is_dir():
        problem = "is a file" if existing == directory else f"{existing} is a file"
        raise SettingProblem(where, f"{problem}; expected a directory for the database")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise SettingProblem(
            where,
            f"{existing.absolute()} is not writable by this user (uid {os.getuid()}); "
            "expected a directory the issuer may write its database in",
        )


def _check_passphrase_file(name: str, path: Path | None) -> None:
    if path is None:
        return
    where = f"{name}={path}"
    expected = "expected a readable file holding the passphrase (a compose or Kubernetes secret)"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingProblem(where, f"no such file ({path.absolute()}); {expected}") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not UTF-8 text"
        raise SettingProblem(where, f"cannot be read ({reason}); {expected}") from None
    if not text.strip():
        raise SettingProblem(where, f"the file is empty; {expected}")


def _check_reachable(url: URL, connect_timeout: int) -> None:
    """One connection, made and closed, within ISSUER_DB_CONNECT_TIMEOUT."""
    engine = create_engine(
        url, poolclass=NullPool, connect_args={"connect_timeout": connect_timeout}
    )
    try:
        with engine.connect():
            pass
    except DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        where = f"{url.host or 'localhost'}:{url.port or 5432}"
        raise SettingProblem(
            f"ISSUER_DATABASE_URL={url.render_as_string(hide_password=True)}",
            f"cannot connect to {where} within ISSUER_DB_CONNECT_TIMEOUT={connect_timeout} s "
            f"({reason}); check that the server runs and the URL names it",
        ) from None
    finally:
        engine.dispose()


def settings_at_start(env_file: Path | None = None) -> IssuerSettings:
    """The settings `serve` and every command run with (the environment, then `env_file` or
    ISSUER_ENV_FILE), checked usable; InvalidSettings, one line per problem, otherwise."""
    settings = load_settings(IssuerSettings, env_file)
    try:
        check_settings_usable(settings)
    except SettingProblem as problem:
        raise InvalidSettings([str(problem)]) from None
    return settings
