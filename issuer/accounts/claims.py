"""What the identity scopes release about a user (OpenID Connect Core §5.4), at /userinfo.

Only the §5.4 claims this issuer holds are listed. §5.3.2: "If a Claim is not returned, that
Claim Name SHOULD be omitted from the JSON object representing the Claims; it SHOULD NOT be
present with a null or empty string value": absent claims are left out. `preferred_username` is
the username, as in access tokens; `email_verified` is a boolean and `updated_at` a number
(§5.1).
"""

from collections.abc import Iterable, Mapping

from issuer.accounts.users import User

SCOPE_CLAIMS: Mapping[str, tuple[str, ...]] = {
    "profile": (
        "name",
        "given_name",
        "family_name",
        "preferred_username",
        "locale",
        "updated_at",
    ),
    "email": ("email", "email_verified"),
}

# Discovery 1.0 §3 claims_supported: the claims this issuer may supply, in ID tokens and at
# /userinfo.
CLAIMS_SUPPORTED: tuple[str, ...] = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "amr",
    "sid",
    "at_hash",
    *SCOPE_CLAIMS["profile"],
    *SCOPE_CLAIMS["email"],
)


def released(user: User, scopes: Iterable[str]) -> dict[str, object]:
    """The user's claims that `scopes` release, always with `sub` (Core §5.3.2)."""
    held = _held(user)
    claims: dict[str, object] = {"sub": user.id}
    for scope in sorted(set(scopes)):
        for name in SCOPE_CLAIMS.get(scope, ()):
            if held.get(name) is not None:
                claims[name] = held[name]
    return claims


def _held(user: User) -> dict[str, object]:
    return {
        "name": user.name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "preferred_username": user.username,
        "locale": user.locale,
        "updated_at": user.updated_at,
        "email": user.email,
        # Only with an email: "verified" says something about an address.
        "email_verified": user.email_verified if user.email is not None else None,
    }
