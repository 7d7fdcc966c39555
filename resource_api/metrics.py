"""The resource API's Prometheus metrics, fed by the verifier's observer hooks. Label values
come from fixed sets (outcomes, rule ids, the configured issuers), never from a token."""

from typing import Any

from prometheus_client import Counter, Gauge

from jwtkit import VerifierObserver

VERIFICATIONS = Counter(
    "resource_api_verifications",
    "Bearer checks by outcome: ok, keys_unavailable, or the refusal's class",
    ["outcome"],
)
TOKEN_CACHE = Counter(
    "resource_api_token_cache_lookups", "Verified-token cache lookups", ["result"]
)
JWKS_FETCHES = Counter(
    "resource_api_jwks_fetches", "Key-set fetches by issuer and outcome", ["issuer", "outcome"]
)
# A timestamp, not an age: the age is `time() - this`, and across workers the oldest (min)
# is the one that matters.
KEYS_LOADED = Gauge(
    "resource_api_jwks_loaded_timestamp_seconds",
    "When each issuer's key set was last fetched or confirmed (Unix time)",
    ["issuer"],
    multiprocess_mode="min",
)


class PrometheusObserver(VerifierObserver):
    def __init__(self) -> None:
        # Children resolved once: `labels()` costs a lock and a tuple on every request.
        self._hit, self._miss = TOKEN_CACHE.labels("hit"), TOKEN_CACHE.labels("miss")
        self._outcomes: dict[str, Any] = {}

    def verification(self, outcome: str) -> None:
        child = self._outcomes.get(outcome)
        if child is None:
            child = self._outcomes[outcome] = VERIFICATIONS.labels(outcome)
        child.inc()

    def token_cache(self, hit: bool) -> None:
        (self._hit if hit else self._miss).inc()

    def jwks_fetch(self, issuer: str, outcome: str) -> None:
        JWKS_FETCHES.labels(issuer, outcome).inc()

    def keys_loaded(self, issuer: str, at: float) -> None:
        KEYS_LOADED.labels(issuer).set(at)
