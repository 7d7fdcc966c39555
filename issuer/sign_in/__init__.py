"""Checking a password safely under attack: throttling, the bounded hash queue, CSRF of the sign-
in forms."""
