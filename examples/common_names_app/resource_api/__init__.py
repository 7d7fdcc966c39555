"""The app's own `resource_api` package: the realm of its RFC 6750 challenges."""

REALM = "my-api"
