"""RFC 6749 §4.4: the client credentials grant, for a service acting for itself."""

from issuer.errors import UnauthorizedClient
from issuer.grants import Granted, GrantRequest
from issuer.grants.scopes import client_scopes, requested_scopes


async def client_credentials_grant(request: GrantRequest) -> Granted:
    client = request.client
    # §4.4: "The client credentials grant type MUST only be used by confidential clients."
    if client.public:
        raise UnauthorizedClient("client_credentials is for confidential clients")
    known = frozenset(request.services.settings.scopes)
    requested = requested_scopes(request.form.get("scope"), known)
    # RFC 9068 §2.2: with no resource owner, sub is the client's own identifier.
    return Granted(client.client_id, None, client_scopes(client, requested, known))
