"""The long-lived objects a running issuer holds, built by keyword in `issuer.wiring`; the
endpoints get them through `issuer.api.dependencies.Services`."""

from dataclasses import dataclass

from sqlalchemy import Engine

from issuer.accounts.users import UserStore
from issuer.clients.authentication import ClientAuthenticator
from issuer.clients.registration_throttle import RegistrationThrottle
from issuer.clients.registration_tokens import RegistrationTokens
from issuer.clients.registry import ClientStore
from issuer.clients.resources import ResourceStore
from issuer.config import IssuerSettings
from issuer.keys.keyring import KeyRing
from issuer.sessions.authorization_codes import AuthorizationCodes
from issuer.sessions.consents import Consents
from issuer.sessions.refresh_tokens import RefreshTokens
from issuer.sessions.session_clients import SessionClients
from issuer.sessions.sign_in_sessions import SignInSessions
from issuer.sign_in.hash_limiter import HashLimiter
from issuer.sign_in.login import PasswordLogin
from issuer.sign_in.throttle import LoginThrottle
from issuer.store.secrets import IssuerSecrets
from issuer.tokens.status import TokenStatus
from jwtkit import Clock


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuerServices:
    settings: IssuerSettings
    clock: Clock
    engine: Engine
    users: UserStore
    keyring: KeyRing
    throttle: LoginThrottle
    limiter: HashLimiter
    login: PasswordLogin
    clients: ClientStore
    client_auth: ClientAuthenticator
    resources: ResourceStore
    refresh_tokens: RefreshTokens
    token_status: TokenStatus
    authorization_codes: AuthorizationCodes
    sign_in_sessions: SignInSessions
    issuer_secrets: IssuerSecrets
    consents: Consents
    session_clients: SessionClients
    registration_throttle: RegistrationThrottle
    registration_tokens: RegistrationTokens
