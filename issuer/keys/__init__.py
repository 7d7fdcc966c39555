"""Signing keys: their lifecycle (next, active, retired, revoked), storage and in-memory use."""
