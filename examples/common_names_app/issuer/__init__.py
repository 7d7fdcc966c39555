"""The app's own `issuer` package: where its tokens come from (not jwtkit's issuer)."""

ENDPOINT = "/token"  # the token endpoint's path
