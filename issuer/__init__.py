"""The token issuer: authenticates users and clients and signs RFC 9068 access tokens."""
