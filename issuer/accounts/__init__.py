"""Users: their records and their password hashes."""
