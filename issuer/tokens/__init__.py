"""The issuer's tokens: signing access tokens, and whether one is still good (RFC 7009, 7662)."""
