"""`python -m issuer`: the admin command line."""
