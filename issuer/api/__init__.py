"""The issuer's HTTP endpoints."""
