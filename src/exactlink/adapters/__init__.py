"""Adapters: the only code that talks to SQLite, TOML files, the keyring and HTTP."""
