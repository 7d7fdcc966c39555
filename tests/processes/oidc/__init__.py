"""Helpers for the OpenID Connect interop and Basic OP tests: the openid-client relying party
(rp.mjs and its driver) and the in-process OP flow the Basic OP checks share."""
