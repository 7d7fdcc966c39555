"""RFC 6749 §4.4: the client credentials grant, for a service acting for itself."""

from issuer.errors import UnauthorizedClient
from issuer.grants import Granted, TokenGrant
from issuer.grants.scopes import client_scopes, requested_scopes


class ClientCredentialsGrant(TokenGrant):
    grant_type = "client_credentials"

    async def validate(self) -> Granted:
        client = self.request.client
        # §4.4: "The client credentials grant type MUST only be used by confidential clients."
        if client.public:
            raise UnauthorizedClient("client_credentials is for confidential clients")
        known = frozenset(self.request.services.settings.scopes)
        requested = requested_scopes(self.request.form.get("scope"), known)
        # RFC 9068 §2.2: with no resource owner, sub is the client's own identifier.
        return Granted(client.client_id, None, client_scopes(client, requested, known))
