"""Users: who may ask for tokens, with their password hashes, allowed scopes and the
OpenID Connect standard claims the `profile` and `email` scopes release (Core §5.1, §5.4;
issuer/accounts/claims.py)."""

import re
import time
import uuid
from dataclasses import dataclass, fields

from argon2 import PasswordHasher
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from issuer.accounts.passwords import password_matches
from issuer.store.db import session
from issuer.store.models import UserRow
from jwtkit import Clock

_USERNAME = re.compile(r"^[A-Za-z0-9._@+-]{1,150}$")
MAX_PASSWORD_LENGTH = 1024
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
MAX_NAME_LENGTH = 255
MAX_EMAIL_LENGTH = 254  # RFC 5321 §4.5.3.1.3: a path holds at most 256 octets, brackets included
# BCP 47 shaped (RFC 5646 §2.1): a language of 2 to 8 letters, then subtags of 1 to 8
# letters or digits: en, en-GB, zh-Hant-TW, de-CH-1996.
_LOCALE = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
_MAX_LOCALE_LENGTH = 35
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UserError(ValueError):
    """A user could not be added or removed; the message says why."""


class PasswordTooShort(UserError):
    """A new password is shorter than ISSUER_MIN_PASSWORD_LENGTH."""


def require_password_length(password: str, minimum: int) -> None:
    """The policy for passwords people choose (`users add`, `users passwd`); the store itself
    takes any length from 1, so that the demo users of ISSUER_DEMO_USERS keep theirs."""
    if len(password) < minimum:
        length = f"{len(password)} character{'' if len(password) == 1 else 's'}"
        raise PasswordTooShort(
            f"the password has {length} and ISSUER_MIN_PASSWORD_LENGTH asks for at least {minimum}"
        )


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    scopes: frozenset[str]
    # Moves on with every password change and `sessions revoke --user`: a sign-in session
    # started under another generation no longer signs in (issuer/sessions/sign_in_sessions.py).
    credential_generation: int = 0
    # OpenID Connect Core §5.1 standard claims; None: not known.
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    email_verified: bool = False
    locale: str | None = None
    updated_at: int | None = None  # seconds since the epoch, when the claims last changed


@dataclass(frozen=True, slots=True)
class UserClaims:
    """Claims to set on a user: None leaves one as it is, "" clears a text claim."""

    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    email_verified: bool | None = None
    locale: str | None = None

    def changes(self) -> dict[str, object]:
        """The columns to write, checked; a UserError names the first bad value."""
        _check_claims(self)
        values: dict[str, object] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is not None:
                values[field.name] = value if value != "" else None
        return values


def _check_claims(claims: UserClaims) -> None:
    for label, value in (
        ("name", claims.name),
        ("given name", claims.given_name),
        ("family name", claims.family_name),
    ):
        if value and (len(value) > MAX_NAME_LENGTH or _CONTROL.search(value)):
            raise UserError(
                f"a {label} has at most {MAX_NAME_LENGTH} characters and no control characters"
            )
    email = claims.email
    if email and (
        len(email) > MAX_EMAIL_LENGTH
        or email.count("@") != 1
        or email.startswith("@")
        or email.endswith("@")
        or any(character.isspace() for character in email)
        or _CONTROL.search(email)
    ):
        raise UserError(
            f"an email address has at most {MAX_EMAIL_LENGTH} characters, one @ with text on "
            "both sides, and no spaces"
        )
    locale = claims.locale
    if locale and (len(locale) > _MAX_LOCALE_LENGTH or not _LOCALE.match(locale)):
        raise UserError("a locale is a BCP 47 language tag, such as en or en-GB")


@dataclass(frozen=True, slots=True)
class StoredCredentials:
    user: User
    password_hash: str


def user_of(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        scopes=frozenset(row.scopes.split()),
        credential_generation=row.credential_generation,
        name=row.name,
        given_name=row.given_name,
        family_name=row.family_name,
        email=row.email,
        email_verified=row.email_verified,
        locale=row.locale,
        updated_at=None if row.updated_at is None else int(row.updated_at),
    )


class UserStore:
    def __init__(self, engine: Engine, hasher: PasswordHasher, clock: Clock) -> None:
        self._engine = engine
        self._hasher = hasher
        self._clock = clock
        # Unknown users are checked against this, so they cost the same time as a wrong password.
        started = time.perf_counter()
        self._dummy_hash = hasher.hash(uuid.uuid4().hex)
        # One hash's duration on this machine: the password-check queue's first estimate.
        self.hash_seconds = time.perf_counter() - started

    def add(
        self,
        username: str,
        password: str,
        scopes: frozenset[str],
        claims: UserClaims | None = None,
    ) -> User:
        if not _USERNAME.match(username):
            raise UserError("a username is 1 to 150 of the characters A-Z a-z 0-9 . _ @ + -")
        if not password or len(password) > MAX_PASSWORD_LENGTH:
            raise UserError(f"a password has 1 to {MAX_PASSWORD_LENGTH} characters")
        if not scopes or not all(SCOPE_TOKEN.match(scope) for scope in scopes):
            raise UserError("scopes must be one or more RFC 6749 scope tokens")
        changes = (claims or UserClaims()).changes()
        now = self._clock()
        row = UserRow(
            id=str(uuid.uuid4()),
            username=username,
            password_hash=self._hasher.hash(password),
            scopes=" ".join(sorted(scopes)),
            created_at=now,
            credential_generation=0,
            updated_at=now,
            **{"email_verified": False, **changes},
        )
        try:
            with session(self._engine) as db, db.begin():
                db.add(row)
        except IntegrityError:
            raise UserError(f"user {username!r} already exists") from None
        return user_of(row)

    def update(self, username: str, claims: UserClaims) -> User | None:
        """Sets the claims given (and updated_at, Core §5.1, from the clock); None when there
        is no such user. A new email address is unverified unless `email_verified` is given
        too: the old address's verification says nothing about it."""
        changes = claims.changes()
        with session(self._engine) as db, db.begin():
            row = db.scalar(select(UserRow).where(UserRow.username == username))
            if row is None:
                return None
            if "email" in changes and changes["email"] != row.email:
                changes.setdefault("email_verified", False)
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_at = self._clock()
            db.flush()
            return user_of(row)

    def remove(self, username: str) -> bool:
        with session(self._engine) as db, db.begin():
            result = db.execute(delete(UserRow).where(UserRow.username == username))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def list(self) -> list[User]:
        with session(self._engine) as db:
            rows = db.scalars(select(UserRow).order_by(UserRow.username))
            return [user_of(row) for row in rows]

    def set_password(self, username: str, password: str) -> User | None:
        """A new password (argon2id) and, in the same write, a new credential generation: every
        sign-in session started before it ends in every process at once. None when there is
        no such user."""
        if not password or len(password) > MAX_PASSWORD_LENGTH:
            raise UserError(f"a password has 1 to {MAX_PASSWORD_LENGTH} characters")
        new_hash = self._hasher.hash(password)
        with session(self._engine) as db, db.begin():
            db.execute(
                update(UserRow)
                .where(UserRow.username == username)
                .values(
                    password_hash=new_hash,
                    credential_generation=UserRow.credential_generation + 1,
                )
            )
            row = db.scalar(select(UserRow).where(UserRow.username == username))
            return None if row is None else user_of(row)

    def new_credential_generation(self, user_id: str) -> bool:
        """Ends every sign-in session of the user (`sessions revoke --user`) without changing
        the password; False when there is no such user."""
        with session(self._engine) as db, db.begin():
            result = db.execute(
                update(UserRow)
                .where(UserRow.id == user_id)
                .values(credential_generation=UserRow.credential_generation + 1)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def get(self, user_id: str) -> User | None:
        with session(self._engine) as db:
            row = db.get(UserRow, user_id)
            return None if row is None else user_of(row)

    def exists(self, username: str) -> bool:
        with session(self._engine) as db:
            return db.scalar(select(UserRow.id).where(UserRow.username == username)) is not None

    def find(self, username: str) -> StoredCredentials | None:
        """The user and their password hash; a short read, no hashing."""
        with session(self._engine) as db:
            row = db.scalar(select(UserRow).where(UserRow.username == username))
            return None if row is None else StoredCredentials(user_of(row), row.password_hash)

    def verify(self, found: StoredCredentials | None, password: str) -> User | None:
        """The user when the password matches; None otherwise, in comparable time either way.

        CPU only (argon2 takes tens of milliseconds on purpose), no database: run it on the
        password-check threads, never while holding a connection.
        """
        if found is None:
            # Unknown users cost the same time as a wrong password.
            password_matches(self._hasher, self._dummy_hash, password)
            return None
        if not password_matches(self._hasher, found.password_hash, password):
            return None
        return found.user

    def needs_rehash(self, found: StoredCredentials) -> bool:
        """Whether the configured parameters changed since this hash was made (cheap)."""
        return self._hasher.check_needs_rehash(found.password_hash)

    def hash_password(self, password: str) -> str:
        """A new argon2id hash (CPU: run it where password checks run)."""
        return self._hasher.hash(password)

    def store_hash(self, user_id: str, password_hash: str) -> None:
        with session(self._engine) as db, db.begin():
            db.execute(
                update(UserRow).where(UserRow.id == user_id).values(password_hash=password_hash)
            )

    def authenticate(self, username: str, password: str) -> User | None:
        """find, verify and rehash in one blocking call (for the CLI and tests; the token
        endpoint runs the steps itself, hashing on its own bounded threads)."""
        found = self.find(username)
        user = self.verify(found, password)
        # While we hold the plain password: upgrade a hash made with older parameters.
        if user is not None and found is not None and self.needs_rehash(found):
            self.store_hash(user.id, self.hash_password(password))
        return user
