"""Services: the domain operations in plain typed Python (no typer, rich, requests, keyring or
sqlite3 here). They take adapters as arguments, raise errors from ``exactlink.errors`` and never
print; the CLI renders what they return."""
