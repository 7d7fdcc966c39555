"""The `id_token_hint` of an authorization request (OpenID Connect Core §3.1.2.1): "ID Token
previously issued by the Authorization Server being passed as a hint about the End-User's
current or past authenticated session with the Client". It must verify over this issuer's
published keys (the algorithm bound to each key), carry its `iss` and name the requesting
client in `aud`; its expiry is not checked (jwtkit's `IdTokenVerifier.verify_hint`). Its
`sub` then says which user the client expects (issuer/grants/interaction.py).
"""

from issuer.grants.authorization_code import AuthorizationRequest, Refused
from issuer.services import IssuerServices
from jwtkit import IdTokenVerifier, InMemoryJwks, VerifierError
from jwtkit.contract import ALGORITHMS


async def hint_subject(request: AuthorizationRequest, services: IssuerServices) -> str | None:
    """The `sub` of the request's id_token_hint: an ID token this issuer signed for this
    client, whatever its expiry; Refused with invalid_request when it is not one."""
    hint = request.openid.id_token_hint
    if hint is None:
        return None
    keyring = services.keyring
    verifier = IdTokenVerifier(
        InMemoryJwks(services.settings.url, lambda: keyring.jwks.body),
        client_id=request.client.client_id,
        algorithms=ALGORITHMS,  # each key is for one; the token's alg must be its key's
        clock=services.clock,
    )
    try:
        claims = await verifier.verify_hint(hint)
    except VerifierError:
        raise Refused(
            request.redirect_uri,
            request.state,
            "invalid_request",
            "the id_token_hint is not an ID token this issuer gave this client",
        ) from None
    return str(claims["sub"])
