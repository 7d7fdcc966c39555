"""Off-the-shelf applications the process tests sign in through the issuer, each configured only
as its own documentation says."""
