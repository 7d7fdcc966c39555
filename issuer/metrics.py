"""The issuer's Prometheus metrics. Labels take values from fixed sets only (grant types we
serve, RFC 6749 error codes, key states): never request input, which would let a client
create series without bound."""

from collections import Counter as Tally

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.engine import Engine

from issuer.keys import schedule as sched
from issuer.keys.keyring import KeyRing

TOKEN_REQUESTS = Counter(
    "issuer_token_requests",
    "Token requests by grant type and outcome (issued, or the RFC 6749 error code)",
    ["grant", "outcome"],
)
TOKEN_LATENCY = Histogram(
    "issuer_token_request_duration_seconds",
    "Time to answer a token request, by grant type",
    ["grant"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8),
)
PASSWORD_CHECKS_IN_FLIGHT = Gauge(
    "issuer_password_checks_in_flight",
    "Password checks queued or running on the hash threads",
    multiprocess_mode="livesum",
)
PASSWORD_CHECKS_REJECTED = Counter(
    "issuer_password_checks_rejected",
    "Logins refused by the hash limiter (503): the check queue was full",
)
THROTTLED = Counter("issuer_login_throttled", "Logins refused by brute-force throttling (429)")
DATABASE_ERRORS = Counter("issuer_database_errors", "Errors raised by the database driver")
KEYS = Gauge(
    "issuer_signing_keys",
    "Signing keys by state, as this process last read them",
    ["state"],
    multiprocess_mode="mostrecent",
)

UNKNOWN_GRANT = "unknown"


def count_database_errors(engine: Engine) -> None:
    """Every error the driver raises on this engine, connection failures included."""
    event.listen(engine, "handle_error", lambda _context: DATABASE_ERRORS.inc())


def observe_keys(keyring: KeyRing, now: float) -> None:
    keys = keyring.keys
    tally = Tally(sched.state(key, keys, now, keyring.lifecycle.schedule) for key in keys)
    for state in sched.KeyState:
        KEYS.labels(state.value).set(tally[state])
