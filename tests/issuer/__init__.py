"""The issuer, in process, on both stores."""
