"""The token issuer: authenticates users and signs RS256 access tokens (RFC 9068)."""
