"""The database: engine, tables, schema migrations, and secrets every process shares."""
