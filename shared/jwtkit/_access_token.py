"""The access token's wire contract (RFC 9068): what the issuer writes and the verifier checks,
defined once for both."""

# The one signing algorithm, pinned by configuration on both sides (RFC 8725 §3.1).
ALGORITHM = "RS256"
# RFC 9068 §2.1: access tokens MUST carry typ "at+jwt" (written without "application/").
TYPE = "at+jwt"
# RFC 9068 §4: typ MUST be "at+jwt" or "application/at+jwt" (media types compare without case).
ACCEPTED_TYPES = frozenset({"at+jwt", "application/at+jwt"})
# RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat and jti are REQUIRED in an access token.
REQUIRED_CLAIMS = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")
