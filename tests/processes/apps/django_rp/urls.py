"""The app's page, and mozilla-django-oidc's views under /oidc/ (authenticate/, callback/ and
logout/): the client's redirect URI is then http://HOST/oidc/callback/."""

from django.urls import include, path

from tests.processes.apps.django_rp import views

urlpatterns = [
    path("", views.home, name="home"),
    path("oidc/", include("mozilla_django_oidc.urls")),
]
