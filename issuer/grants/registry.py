"""The grant types, listed once: name → grant, each saying whether this issuer's settings run
it. The token endpoint runs the enabled ones, the discovery document (grant_types_supported)
and the /token form in the OpenAPI document offer them, and a client may be registered for any
of them, enabled or not (issuer/clients/registry.py).
"""

from issuer.config import IssuerSettings
from issuer.grants import TokenGrant
from issuer.grants.authorization_code import AuthorizationCodeGrant
from issuer.grants.client_credentials import ClientCredentialsGrant
from issuer.grants.password import PasswordGrant
from issuer.grants.refresh_token import RefreshTokenGrant

GRANT_TYPES: dict[str, type[TokenGrant]] = {
    grant.grant_type: grant
    for grant in (AuthorizationCodeGrant, PasswordGrant, ClientCredentialsGrant, RefreshTokenGrant)
}


def enabled_grants(settings: IssuerSettings) -> dict[str, type[TokenGrant]]:
    """The grants this issuer runs."""
    return {name: grant for name, grant in GRANT_TYPES.items() if grant.enabled(settings)}
