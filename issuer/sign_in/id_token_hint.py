"""The `id_token_hint` of an authorization request (OpenID Connect Core §3.1.2.1): "ID Token
previously issued by the Authorization Server being passed as a hint about the End-User's
current or past authenticated session with the Client". It must verify over this issuer's
published keys (the algorithm bound to each key), carry its `iss` and name the requesting
client in `aud`; its expiry is not checked (jwtkit's `IdTokenVerifier.verify_hint`). Its
`sub` then says which user the client expects (issuer/grants/interaction.py).
"""

from issuer.grants.authorization_code import AuthorizationRequest, Refused
from issuer.services import IssuerServices
from issuer.tokens.id_tokens import verified_hint


async def hint_subject(request: AuthorizationRequest, services: IssuerServices) -> str | None:
    """The `sub` of the request's id_token_hint: an ID token this issuer signed for this
    client, whatever its expiry; Refused with invalid_request when it is not one."""
    hint = request.openid.id_token_hint
    if hint is None:
        return None
    claims = await verified_hint(hint, request.client.client_id, services)
    if claims is None:
        raise Refused(
            request.redirect_uri,
            request.state,
            "invalid_request",
            "the id_token_hint is not an ID token this issuer gave this client",
        )
    return str(claims["sub"])
