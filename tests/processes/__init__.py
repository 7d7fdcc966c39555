"""Real processes: the services started as a user starts them, the CLI, PostgreSQL."""
