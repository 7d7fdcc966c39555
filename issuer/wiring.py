"""Building the issuer's objects from settings: one place that the app, the CLI and the tests
share, so that the CLI never imports the web app to reach a store.

`build_services` is the whole graph, for a running issuer (the app's lifespan, the tests); the
smaller builders are the parts a CLI command needs alone (the database, the users, the keys,
the clients, the resources, the sessions), so that no command builds a store itself. Nothing
here imports a web framework (tests/issuer/test_layout.py)."""

import contextlib
import logging

from sqlalchemy import Engine

from issuer.accounts.passwords import password_hasher
from issuer.accounts.users import UserError, UserStore
from issuer.clients.authentication import ClientAuthenticator
from issuer.clients.registration_throttle import RegistrationRatePolicy, RegistrationThrottle
from issuer.clients.registration_tokens import RegistrationTokens
from issuer.clients.registry import ClientStore
from issuer.clients.resources import ResourceStore
from issuer.config import IssuerSettings
from issuer.keys.keyring import KeyRing
from issuer.keys.lifecycle import KeyLifecycle
from issuer.keys.schedule import ACTIVATION_MARGIN, Schedule
from issuer.keys.store import KeyStore
from issuer.metrics import count_database_errors
from issuer.services import IssuerServices
from issuer.sessions.authorization_codes import AuthorizationCodes
from issuer.sessions.backchannel import backchannel_logout_for
from issuer.sessions.consents import Consents
from issuer.sessions.refresh_tokens import RefreshTokens
from issuer.sessions.session_clients import SessionClients
from issuer.sessions.sign_in_sessions import SignInSessions
from issuer.sessions.user_sessions import UserSessions
from issuer.sign_in.hash_limiter import HashLimiter
from issuer.sign_in.login import PasswordLogin
from issuer.sign_in.throttle import LoginThrottle, ThrottlePolicy
from issuer.store.db import Pool, create_database_engine
from issuer.store.schema import ensure_current
from issuer.store.secrets import IssuerSecrets
from issuer.tokens.status import TokenStatus
from jwtkit import Clock

logger = logging.getLogger("issuer")


def database_engine(settings: IssuerSettings) -> Engine:
    """The engine alone, no schema work (for `db upgrade` and `db current`)."""
    pool = Pool(settings.db_pool_size, settings.db_pool_timeout, settings.db_connect_timeout)
    engine = create_database_engine(settings.sqlalchemy_url, settings.data_dir, pool)
    count_database_errors(engine)
    return engine


def open_database(settings: IssuerSettings) -> Engine:
    """The engine, its schema current: upgraded, or (ISSUER_DB_AUTO_UPGRADE=false) checked."""
    engine = database_engine(settings)
    ensure_current(engine, auto_upgrade=settings.db_auto_upgrade)
    return engine


def key_schedule(settings: IssuerSettings) -> Schedule:
    return Schedule(
        rotation_interval=settings.key_rotation_interval,
        publish_ahead=settings.key_publish_ahead,
        retired_grace=settings.access_token_ttl + settings.verifier_leeway,
        activation_delay=settings.key_check_interval + ACTIVATION_MARGIN,
    )


def key_store(settings: IssuerSettings, engine: Engine, *, upgrade: bool = True) -> KeyStore:
    """The key store, its passphrase checked (KeyDecryptionFailed when it cannot read the keys)
    and, with `upgrade`, keys in the first release's form rewrapped."""
    store = unopened_key_store(settings, engine)
    if not store.encrypted:
        logger.warning(
            "ISSUER_KEY_PASSPHRASE is not set: private signing keys are stored UNENCRYPTED. "
            "Set it (or ISSUER_KEY_PASSPHRASE_FILE) outside local development."
        )
    store.open(upgrade=upgrade)
    return store


def unopened_key_store(settings: IssuerSettings, engine: Engine) -> KeyStore:
    """The key store, its passphrase not checked: for `keys rewrap`, which moves the keys to
    ISSUER_KEY_PASSPHRASE from the old passphrase, so they need not be readable under it yet."""
    return KeyStore(engine, settings.passphrase(), settings.key_size)


def key_lifecycle(
    settings: IssuerSettings, engine: Engine, *, upgrade: bool = True
) -> KeyLifecycle:
    return KeyLifecycle(
        key_store(settings, engine, upgrade=upgrade),
        key_schedule(settings),
        settings.signing_alg,
    )


def user_store(settings: IssuerSettings, engine: Engine, *, clock: Clock) -> UserStore:
    return UserStore(engine, hasher=password_hasher(settings), clock=clock)


def refresh_tokens(settings: IssuerSettings, engine: Engine) -> RefreshTokens:
    return RefreshTokens(
        engine, ttl=settings.refresh_token_ttl, max_age=settings.refresh_token_max_age
    )


def throttle_policy(settings: IssuerSettings) -> ThrottlePolicy:
    return ThrottlePolicy(
        per_account_and_address=settings.throttle_account_address_limit,
        account_and_address_window=settings.throttle_account_address_window,
        per_account=settings.throttle_account_limit,
        account_window=settings.throttle_account_window,
        per_address=settings.throttle_address_limit,
        address_window=settings.throttle_address_window,
        per_network=settings.throttle_network_limit,
        network_window=settings.throttle_network_window,
    )


def sign_in_sessions(settings: IssuerSettings, engine: Engine) -> SignInSessions:
    return SignInSessions(engine, settings.session_ttl)


def user_sessions(settings: IssuerSettings, engine: Engine) -> UserSessions:
    """What `users passwd`, `users remove` and `sessions …` end and list."""
    tokens = refresh_tokens(settings, engine)
    return UserSessions(
        sign_ins=sign_in_sessions(settings, engine),
        refresh_tokens=tokens,
        codes=AuthorizationCodes(engine, tokens),
        backchannel=backchannel_logout_for(engine, tokens),
    )


def consents(engine: Engine) -> Consents:
    return Consents(engine)


def login_throttle(settings: IssuerSettings, engine: Engine) -> LoginThrottle:
    return LoginThrottle(engine, throttle_policy(settings))


def client_store(engine: Engine, clock: Clock) -> ClientStore:
    return ClientStore(engine, clock)


def registration_throttle(settings: IssuerSettings, engine: Engine) -> RegistrationThrottle:
    policy = RegistrationRatePolicy(
        per_address=settings.registration_rate_limit, window=settings.registration_rate_window
    )
    return RegistrationThrottle(engine, policy)


def resource_store(engine: Engine) -> ResourceStore:
    return ResourceStore(engine)


def build_services(settings: IssuerSettings, clock: Clock) -> IssuerServices:
    """Opens the database and the stores; blocking, so run it in a thread from async code."""
    engine = open_database(settings)
    keyring = KeyRing(key_lifecycle(settings, engine), clock, settings.key_stale_after)
    users = user_store(settings, engine, clock=clock)
    throttle = login_throttle(settings, engine)
    limiter = HashLimiter(
        concurrency=settings.password_check_concurrency(),
        queue_timeout=settings.hash_queue_timeout,
        estimate=users.hash_seconds,
    )
    clients = client_store(engine, clock)
    sessions = refresh_tokens(settings, engine)
    return IssuerServices(
        settings=settings,
        clock=clock,
        engine=engine,
        users=users,
        keyring=keyring,
        throttle=throttle,
        limiter=limiter,
        login=PasswordLogin(users=users, throttle=throttle, limiter=limiter),
        clients=clients,
        client_auth=ClientAuthenticator(store=clients, engine=engine, settings=settings),
        resources=resource_store(engine),
        refresh_tokens=sessions,
        token_status=TokenStatus(engine, keyring, sessions, users, settings.url),
        authorization_codes=AuthorizationCodes(engine, sessions),
        sign_in_sessions=sign_in_sessions(settings, engine),
        issuer_secrets=IssuerSecrets(engine, clock),
        consents=consents(engine),
        session_clients=SessionClients(engine),
        registration_throttle=registration_throttle(settings, engine),
        registration_tokens=RegistrationTokens(engine),
    )


def add_demo_users(services: IssuerServices) -> None:
    credentials = services.settings.demo_credentials()
    if not credentials:
        return
    logger.warning(
        "ISSUER_DEMO_USERS is set: demo users with known passwords exist. For demos only.",
        extra={"users": [name for name, _ in credentials]},
    )
    scopes = frozenset(services.settings.default_scopes)
    for name, password in credentials:
        if not services.users.exists(name):
            with contextlib.suppress(UserError):  # another process added it just now
                services.users.add(name, password, scopes)
