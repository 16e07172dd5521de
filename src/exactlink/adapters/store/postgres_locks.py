"""The team store's advisory locks: (namespace, id) pairs, shared by the PostgreSQL adapter and
its migrations (a leaf, so neither imports the other for them).

The namespace is "EXLK" as an int32, so our locks do not collide with another application's on
the same database.
"""

LOCK_NAMESPACE = 0x45584C4B
WRITE_LOCK = 1  # one writer at a time, like SQLite's BEGIN IMMEDIATE
MIGRATION_LOCK = 2  # two colleagues upgrading at once: one migrates, the other waits
TOKEN_LOCK_NAMESPACE = 0x45584C54  # "EXLT": one lock per connection (token chain) id
