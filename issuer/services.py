"""The long-lived objects a running issuer holds, built by `issuer.wiring`."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from issuer.authorization_codes import AuthorizationCodes
from issuer.client_auth import ClientAuthenticator
from issuer.clients import ClientStore
from issuer.config import IssuerSettings
from issuer.hash_limiter import HashLimiter
from issuer.issuer_secrets import IssuerSecrets
from issuer.keys.keyring import KeyRing
from issuer.login import PasswordLogin
from issuer.refresh_tokens import RefreshTokens
from issuer.resources import ResourceStore
from issuer.sign_in_sessions import SignInSessions
from issuer.throttle import LoginThrottle
from issuer.token_status import TokenStatus
from issuer.users import UserStore
from jwtkit._clock import Clock


@dataclass(frozen=True, slots=True)
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


def get_services(request: Request) -> IssuerServices:
    services: IssuerServices = request.app.state.services
    return services


Services = Annotated[IssuerServices, Depends(get_services)]
