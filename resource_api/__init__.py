"""The resource API: trusts the issuer only through its published keys."""
