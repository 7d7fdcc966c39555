"""A failing database, said once: any SQLAlchemyError (a lost connection, a pool timeout, a disk
error) becomes RFC 6749 temporarily_unavailable, a 503 with Retry-After, never a 500.

The OAuth endpoints' routes apply it (issuer/api/errors.py), the token endpoint to the error its
pipeline ended with (`unavailable_for`); the password check applies it with
its own sentence, since the sign-in page answers that failure with a page of its own
(issuer/sign_in/login.py). Readiness asks the database itself (`database_reachable`).
"""

import contextlib
import logging
from collections.abc import Iterator

from sqlalchemy.exc import SQLAlchemyError

from issuer.errors import TemporarilyUnavailable

DATABASE_UNAVAILABLE = "the database is unavailable; try again shortly"


@contextlib.contextmanager
def unavailable_when_the_database_fails(
    description: str = DATABASE_UNAVAILABLE,
    *,
    log: logging.Logger | None = None,
    message: str = "the database failed",
) -> Iterator[None]:
    """Inside the block, a database failure raises TemporarilyUnavailable(`description`),
    after logging `message` with the traceback on `log` when one is given."""
    try:
        yield
    except SQLAlchemyError:
        if log is not None:
            log.exception(message)
        raise TemporarilyUnavailable(description) from None


def unavailable_for(error: BaseException) -> TemporarilyUnavailable | None:
    """The answer to `error` when it is a database failure; None for any other error."""
    if isinstance(error, SQLAlchemyError):
        return TemporarilyUnavailable(DATABASE_UNAVAILABLE)
    return None
