"""The Django project's settings: Django's own (sessions, CSRF, SQLite), then
mozilla-django-oidc's, the provider's endpoints read from its discovery document."""

import json
import os
import secrets
from pathlib import Path
from urllib.request import urlopen

DATA_DIR = Path(os.environ["RP_DATA_DIR"])

SECRET_KEY = os.environ.get("RP_SECRET_KEY") or secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.processes.apps.django_rp.urls"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "mozilla_django_oidc",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DATA_DIR / "app.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
# The app and the issuer share the host 127.0.0.1 (cookies ignore ports): names of its own.
SESSION_COOKIE_NAME = "app_session"
CSRF_COOKIE_NAME = "app_csrf"
# With DEBUG off Django logs nothing to the console: show the library's warnings (a refused
# ID token, a failed token request) and request errors in the server's output.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "WARNING"},
        "mozilla_django_oidc": {"handlers": ["console"], "level": "DEBUG"},
    },
}

# --8<-- [start:oidc]
# mozilla-django-oidc: the issuer is the OpenID provider, this app a confidential client.
AUTHENTICATION_BACKENDS = ["tests.processes.apps.django_rp.provider.NamedUsers"]
ISSUER_URL = os.environ["RP_ISSUER_URL"]  # for example https://issuer.example.com
with urlopen(f"{ISSUER_URL}/.well-known/openid-configuration", timeout=10) as document:
    PROVIDER = json.load(document)
OIDC_OP_AUTHORIZATION_ENDPOINT = PROVIDER["authorization_endpoint"]
OIDC_OP_TOKEN_ENDPOINT = PROVIDER["token_endpoint"]
OIDC_OP_USER_ENDPOINT = PROVIDER["userinfo_endpoint"]
OIDC_OP_JWKS_ENDPOINT = PROVIDER["jwks_uri"]
OIDC_RP_CLIENT_ID = os.environ["RP_CLIENT_ID"]
OIDC_RP_CLIENT_SECRET = os.environ["RP_CLIENT_SECRET"]  # sent as client_secret_post
OIDC_RP_SIGN_ALGO = "RS256"  # the issuer's ISSUER_SIGNING_ALG (the library's default is HS256)
OIDC_RP_SCOPES = "openid email profile"
OIDC_USE_PKCE = True  # the issuer requires PKCE of every client
OIDC_USE_NONCE = True  # the default: the ID token must carry the nonce the app sent
OIDC_TIMEOUT = 10  # seconds, for each request to the issuer
OIDC_STORE_ID_TOKEN = True  # kept in the session: the id_token_hint of the logout
OIDC_OP_LOGOUT_URL_METHOD = "tests.processes.apps.django_rp.provider.provider_logout"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"  # registered with --post-logout-redirect-uri, as an absolute URL
# --8<-- [end:oidc]
