"""The app's one page: who is signed in, with a logout button, or a sign-in link."""

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html

PAGE = '<!doctype html><html lang="en"><title>Django app</title><main>{}</main></html>'


def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_authenticated:
        body = format_html(
            '<p>Signed in as <span id="name">{}</span> &lt;<span id="email">{}</span>&gt;</p>'
            '<form method="post" action="{}">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<button type="submit" id="logout">Log out</button></form>',
            user.get_full_name(),
            user.email,
            reverse("oidc_logout"),
            get_token(request),
        )
    else:
        body = format_html(
            '<p id="signed-out">Not signed in.</p><a id="sign-in" href="{}">Sign in</a>',
            reverse("oidc_authentication_init"),
        )
    return HttpResponse(format_html(PAGE, body))
