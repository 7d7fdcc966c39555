"""What the verifier reports as it works, for metrics. Every method does nothing here:
subclass `VerifierObserver` and pass it as `observer=` to `AccessTokenVerifier` and
`JwksCache` (the resource API counts the events in Prometheus: resource_api/metrics.py).
Values come from fixed sets, never from a token."""


class VerifierObserver:
    def verification(self, outcome: str) -> None:
        """One request's outcome: "ok", "missing_credentials", "invalid_request",
        "insufficient_scope", "keys_unavailable", or the failed rule of an invalid token
        (InvalidToken.rule: "exp", "aud", "signature", "unknown_key", "issuer", …)."""

    def token_cache(self, hit: bool) -> None:
        """A lookup in the verified-token cache."""

    def jwks_fetch(self, issuer: str, outcome: str) -> None:
        """A key-set fetch: "ok", "not_modified" or "error"."""

    def keys_loaded(self, issuer: str, at: float) -> None:
        """The key set was fetched or confirmed (304) at `at`: its age counts from there."""


NO_OBSERVER = VerifierObserver()
