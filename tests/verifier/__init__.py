"""The verifier library, jwtkit: runs against a jwtkit-only install (CI)."""
