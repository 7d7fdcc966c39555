"""A minimal Django project that signs people in with mozilla-django-oidc 5, configured only
through that library's documented settings (settings.py), against this issuer as its OpenID
provider. tests/processes/browser/test_django_oidc_app.py runs it in Chromium; the docs page
"Sign in to your apps with OpenID Connect" shows its settings.

It reads where the issuer is and which client it is from the environment:
RP_ISSUER_URL, RP_CLIENT_ID, RP_CLIENT_SECRET and RP_DATA_DIR (its SQLite database)."""
