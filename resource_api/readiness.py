"""What /readyz says: each trusted issuer's key set, and one verdict for the load balancer.

- "ready": every issuer's keys are loaded and fresh;
- "stale": every issuer's keys are loaded, some past their lifetime (still verifying, up to
  the maximum stale age, while the refresh keeps failing);
- "degraded": some issuers' keys are loaded, others not: their tokens get 503, the others
  are served, so the process stays in rotation (200);
- "not ready": no issuer's keys are loaded (503).

The top-level `keys_loaded`, `keys`, `age_seconds`, `stale` and `last_error` keep the shape a
single-issuer deployment had, summed over the issuers.
"""

from typing import Any

from jwtkit import AccessTokenVerifier


def readiness(verifier: AccessTokenVerifier) -> dict[str, Any]:
    issuers = [
        {"issuer": issuer, **trusted.jwks.status()} for issuer, trusted in verifier.issuers.items()
    ]
    loaded = [entry for entry in issuers if entry["keys_loaded"]]
    ages = [entry["age_seconds"] for entry in issuers]
    errors = [entry["last_error"] for entry in issuers if entry["last_error"]]
    if not loaded:
        status = "not ready"
    elif len(loaded) < len(issuers):
        status = "degraded"
    else:
        status = "stale" if any(entry["stale"] for entry in issuers) else "ready"
    return {
        "status": status,
        "keys_loaded": len(loaded) == len(issuers),
        "keys": sum(entry["keys"] for entry in issuers),
        "age_seconds": None if None in ages else max(ages),
        "stale": any(entry["stale"] for entry in issuers),
        "last_error": errors[0] if errors else None,
        "issuers": issuers,
    }
