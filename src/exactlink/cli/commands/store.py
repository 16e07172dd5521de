"""`exactlink store`: the team store on PostgreSQL (init, join, status, migrate, key rotate)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from exactlink.i18n import N_, _

if TYPE_CHECKING:
    from exactlink.cli.context import AppContext

app = typer.Typer(
    no_args_is_help=True,
    help=N_(
        "The store: local, or a team store on PostgreSQL.\n\n"
        "Local is SQLite, the default; a team store is shared by the firm's staff."
    ),
)
key_app = typer.Typer(no_args_is_help=True, help=N_("The team store's encryption key."))
app.add_typer(key_app, name="key")

_URL = typer.Argument(
    help=N_(
        "postgresql://USER@HOST:PORT/DBNAME (libpq settings apply; the password goes in "
        "~/.pgpass, never in the URL)."
    )
)
_INSECURE = typer.Option(
    "--insecure-storage",
    help=N_("No OS keyring here (a headless server): keep the store key in a 0600 file instead."),
)


def _member_secrets(ctx: AppContext, insecure: bool) -> object:
    """This member's secret store, opened before anything is written (a missing keyring fails
    first, exit 9)."""
    if insecure:
        from exactlink.services.exact_app import remember_insecure_storage

        ctx.insecure_storage = True
        remember_insecure_storage(ctx.config)
    return ctx.member_secrets


def _read_key(ctx: AppContext) -> str:
    """The store key from a hidden prompt (terminal) or stdin: never argv."""
    if ctx.stdin_is_tty:
        import getpass

        from exactlink.i18n import _

        return getpass.getpass(_("Store key (input hidden): "), stream=sys.stderr)
    return sys.stdin.readline().strip()


def _point_home_at(ctx: AppContext, url: str) -> None:
    from exactlink.services.team_store import CONFIG_KEY

    ctx.config.set(CONFIG_KEY, url)
    ctx.config.save()


@app.command("init")
def store_init(
    typer_ctx: typer.Context,
    url: Annotated[str, _URL],
    insecure_storage: Annotated[bool, _INSECURE] = False,
) -> None:
    """Create a team store and its store key.

    The store goes into an empty PostgreSQL database. The key is kept in this member's OS keyring and printed ONCE on stdout: give it to the
    colleagues who join (`exactlink store join URL`). This home then uses the team store.
    """
    import os

    from exactlink.adapters import crypto
    from exactlink.cli.context import app_context
    from exactlink.services import team_store

    ctx = app_context(typer_ctx)
    team_store.check_url(url)
    from_env = os.environ.get(team_store.KEY_ENV)
    secrets = None if from_env else _member_secrets(ctx, insecure_storage)
    key = crypto.decode_key(from_env) if from_env else crypto.new_key()
    info = team_store.create_schema(url, key)
    if secrets is not None:
        team_store.save_key(secrets, info.store_id, key)  # type: ignore[arg-type]
    _point_home_at(ctx, url)
    ctx.__dict__.pop("store_url", None)
    ctx.__dict__.pop("store", None)
    ctx.store.events.record("store.init", info.location, details={"fingerprint": info.fingerprint})
    encoded = crypto.encode_key(key)
    join = f"exactlink store join {url}"
    out = ctx.out
    out.success(_("Team store created at {where}.").format(where=info.location))
    out.line(encoded)
    out.info(
        _(
            "That is the store key (fingerprint {fingerprint}); it is shown only this once. "
            "Give it to each colleague through a safe channel; they run `{join}` and paste it."
        ).format(fingerprint=info.fingerprint, join=join)
    )
    out.hint(_("A local store to bring along? `exactlink store migrate --to URL`."))
    out.result("success", {**info.to_dict(), "store_key": encoded, "join_command": join})


@app.command("join")
def store_join(
    typer_ctx: typer.Context,
    url: Annotated[str, _URL],
    insecure_storage: Annotated[bool, _INSECURE] = False,
) -> None:
    """Join a colleague's team store.

    The store key is read from stdin (or a hidden prompt), checked against the database, then
    kept in this member's OS keyring.
    """
    from exactlink.adapters import crypto
    from exactlink.cli.context import app_context
    from exactlink.services import team_store

    ctx = app_context(typer_ctx)
    team_store.check_url(url)
    secrets = _member_secrets(ctx, insecure_storage)
    key = crypto.decode_key(_read_key(ctx))
    info = team_store.join(url, key)  # WrongStoreKey before anything is saved
    team_store.save_key(secrets, info.store_id, key)  # type: ignore[arg-type]
    _point_home_at(ctx, url)
    ctx.__dict__.pop("store_url", None)
    ctx.__dict__.pop("store", None)
    ctx.store.events.record("store.join", info.location, details={"fingerprint": info.fingerprint})
    portals = ctx.store.portals.list()
    if len(portals) == 1 and not ctx.config.default_portal:
        from exactlink.adapters.config import DEFAULT_PORTAL_KEY

        ctx.config.set(DEFAULT_PORTAL_KEY, portals[0].name)  # the team's one portal
        ctx.config.save()
    ctx.out.success(
        _("Joined the team store at {where} (key {fingerprint}).").format(
            where=info.location, fingerprint=info.fingerprint
        )
    )
    ctx.out.result("success", info.to_dict())


@app.command("status")
def store_status(typer_ctx: typer.Context) -> None:
    """Show which store this home uses.

    Backend, location (never a password), schema version, and for a team store the members
    seen and the key's fingerprint.
    """
    from exactlink.cli.context import app_context

    ctx = app_context(typer_ctx)
    store = ctx.store
    data: dict[str, object] = {
        "backend": "postgresql" if store.is_team else "sqlite",
        "location": store.location,
        "schema_version": store.schema_version(),
    }
    if store.is_team:
        from exactlink.errors import ExactlinkError
        from exactlink.services import team_store

        try:
            key: bytes | None = ctx.store_key
        except ExactlinkError:
            key = None
        data.update(team_store.status(store.db, key))
        from exactlink.adapters.store import libpq

        # The commands that only read skip psycopg's import when psycopg_binary's libpq is
        # here (docs/team.md): support asks this when `client list` is slow on one computer.
        data["quick_reads"] = libpq.load() is not None
    if ctx.json:
        ctx.out.json(data)
        return
    from exactlink.i18n import local_time

    members = cast("list[dict[str, Any]]", data.pop("members", None) or [])
    titles = {
        "backend": _("backend"),
        "location": _("location"),
        "schema_version": _("schema version"),
        "store_id": _("store id"),
        "created_at": _("created"),
        "created_by": _("created by"),
        "key_rotated_at": _("key rotated"),
        "key_fingerprint": _("key fingerprint"),
        "key_matches": _("key matches"),
        "secrets": _("secrets"),
        "quick_reads": _("quick reads (libpq)"),
    }
    shown = {
        name: local_time(value) if name.endswith("_at") else value for name, value in data.items()
    }
    for name in ("key_matches", "quick_reads"):
        if name in shown:
            shown[name] = _("yes") if shown[name] else _("no")
    ctx.out.fields([(titles.get(name, name.replace("_", " ")), v) for name, v in shown.items()])
    if members:
        ctx.out.table(
            [_("os user"), _("host"), _("last seen")],
            [(m["os_user"], m["host"], local_time(m["last_seen"])) for m in members],
        )


@key_app.command("rotate")
def store_key_rotate(typer_ctx: typer.Context) -> None:
    """Make a new store key and re-encrypt every secret with it.

    In one transaction. Prints the new key once; every other member must `exactlink store join URL` again with it
    (after a colleague leaves, rotate the key and drop their database role).
    """
    import os

    from exactlink.adapters import crypto
    from exactlink.cli.context import app_context
    from exactlink.errors import UsageError
    from exactlink.services import team_store

    ctx = app_context(typer_ctx)
    if not ctx.store.is_team:
        raise UsageError(
            _("This home uses the local store; only a team store has a store key."),
            hint=_("See `exactlink store status`."),
        )
    old = ctx.store_key
    new, count = team_store.rotate_key(ctx.store.db, old)
    if not os.environ.get(team_store.KEY_ENV):
        team_store.save_key(ctx.member_secrets, team_store.store_id(ctx.store.db), new)
    fingerprint = crypto.fingerprint(new)
    ctx.store.events.record("store.key_rotate", ctx.store.location, details={"secrets": count})
    encoded = crypto.encode_key(new)
    ctx.out.success(
        _(
            "Store key rotated: {count} secrets re-encrypted (new fingerprint {fingerprint})."
        ).format(count=count, fingerprint=fingerprint)
    )
    ctx.out.line(encoded)
    ctx.out.info(
        _(
            "That is the new store key, shown only this once. Every colleague must run "
            "`exactlink store join URL` with it; the old key no longer opens the store."
        )
    )
    ctx.out.result("success", {"store_key": encoded, "fingerprint": fingerprint, "secrets": count})


@app.command("migrate")
def store_migrate(
    typer_ctx: typer.Context,
    to: Annotated[
        str,
        typer.Option("--to", help=N_("The team store (made with `store init`, still empty).")),
    ],
) -> None:
    """Copy this home's local store into an empty team store.

    Its keyring secrets too, in one transaction; the counts are compared and printed, and the
    local store is left untouched.
    """
    import os

    from exactlink.adapters import crypto
    from exactlink.adapters.store import Store
    from exactlink.adapters.store.postgres import open_database
    from exactlink.cli.context import app_context
    from exactlink.services import store_copy, team_store
    from exactlink.services.exact_app import SECRET_KEY

    ctx = app_context(typer_ctx)
    team_store.check_url(to)
    local = Store(ctx.paths.db_file)
    target = open_database(to)
    try:
        text = os.environ.get(team_store.KEY_ENV) or ctx.member_secrets.get(
            team_store.key_entry(team_store.store_id(target))
        )
        if not text:
            from exactlink.errors import NotFound

            raise NotFound(
                _("This home has no key for the team store {where}.").format(where=target.location),
                hint=_("Run `exactlink store init URL` (or `store join URL`) first."),
            )
        key = crypto.decode_key(text)
        from exactlink.adapters.store.team_secrets import check_key

        check_key(target, key)
        report = store_copy.migrate(
            local.db,
            ctx.member_secrets,
            target,
            key,
            location=target.location,
            app_secret_key=SECRET_KEY,
        )
        team_store.share_app(target, dict(ctx.config.get("exact", {}) or {}))
        from exactlink.adapters.store.events import EventRepository

        EventRepository(target).record(  # type: ignore[arg-type]
            "store.migrate", target.location, details=report.source
        )
    finally:
        target.close()
        local.close()
    _point_home_at(ctx, to)
    out = ctx.out
    if not ctx.json:
        out.table(
            [_("table"), _("local"), _("team")],
            [(name, count, report.target.get(name)) for name, count in report.source.items()],
        )
    out.success(
        _("Migrated into {where}: every count equal. The local store is unchanged.").format(
            where=target.location
        )
    )
    out.result("success", report.to_dict())
