"""Code both services use: JWK helpers, settings and logging helpers, and the verifier library."""
