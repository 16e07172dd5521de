"""`exactlink sandbox`: the local Exact Online simulator."""

from typing import Annotated

import typer

from exactlink.i18n import N_, _

app = typer.Typer(
    no_args_is_help=True, help=N_("A local Exact Online for tests, demos and rehearsals.")
)


def _parse_switch(text: str) -> tuple[str, object]:
    """``name=value`` with a JSON value (``true``, ``3``, ``null``) or a bare string."""
    import json

    from exactlink.errors import UsageError

    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise UsageError(
            _("--switch needs NAME=VALUE, got {text!r}").format(text=text),
            hint=_("See docs/sandbox.md."),
        )
    try:
        return name.strip(), json.loads(raw)
    except ValueError:
        return name.strip(), raw


@app.command("serve")
def sandbox_serve(
    typer_ctx: typer.Context,
    host: Annotated[
        str,
        typer.Option("--host", help=N_("Loopback address to bind: 127.0.0.1, localhost or ::1.")),
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option("--port", min=0, max=65535, help=N_("Port to listen on; 0 picks a free one.")),
    ] = 0,
    clients: Annotated[
        int, typer.Option("--clients", min=0, help=N_("Number of client companies in the seed."))
    ] = 20,
    seed: Annotated[int, typer.Option("--seed", help=N_("Seed of the generated world."))] = 1,
    redirect_uri: Annotated[
        str | None,
        typer.Option(
            "--redirect-uri",
            help=N_(
                "Redirect URI registered for the app (strict default "
                "https://auth.exactlink.test/callback; must be public HTTPS unless lenient)."
            ),
        ),
    ] = None,
    profile: Annotated[
        str,
        typer.Option(
            "--profile",
            help=N_(
                "strict (as strict as Exact Online, the default) or lenient (for old clients)."
            ),
        ),
    ] = "strict",
    site: Annotated[
        list[str] | None,
        typer.Option(
            "--site",
            metavar=N_("COUNTRY"),
            help=N_(
                "Country site to serve (nl be de uk us es fr), each on its own port; repeat for "
                "several (default: nl). A token works only on the site that issued it."
            ),
        ),
    ] = None,
    switch: Annotated[
        list[str] | None,
        typer.Option(
            "--switch",
            metavar=N_("NAME=VALUE"),
            help=N_(
                "Set a sandbox switch or limit, e.g. --switch list_archived=false (repeatable)."
            ),
        ),
    ] = None,
) -> None:
    """Run a local Exact Online in the foreground until Ctrl-C.

    Prints the base URL, the registered app (client id, secret, redirect URI) and the logins;
    with --json one JSON line instead. --profile strict (the default) behaves as strictly as Exact
    Online; --switch changes one rule on top of it. Test controls live under /_sandbox/
    (docs/sandbox.md).
    """
    import json
    import signal

    from exactlink.cli.context import app_context
    from exactlink.errors import ExactUnreachable, UsageError
    from exactlink.i18n import _
    from exactlink_sandbox import PortInUseError, Sandbox

    ctx = app_context(typer_ctx)
    switches = dict(_parse_switch(item) for item in switch or [])
    try:
        sb = Sandbox(
            clients=clients,
            seed=seed,
            port=port,
            redirect_uri=redirect_uri,
            host=host,
            profile=profile,
            sites=tuple(site or ("nl",)),
            **switches,
        )
    except ValueError as exc:
        raise UsageError(str(exc), hint=_("See docs/sandbox.md for hosts and switches.")) from None
    try:
        sb.start()
    except PortInUseError:
        raise ExactUnreachable(
            _("Port {port} on {host} is already in use.").format(port=port, host=host),
            hint=_("Choose another port with --port, or --port 0 for a free one."),
        ) from None
    except OSError as exc:
        raise ExactUnreachable(
            _("Cannot listen on {host}:{port}: {error}").format(host=host, port=port, error=exc)
        ) from None

    # A plain `kill` (SIGTERM) stops it as cleanly as Ctrl-C.
    def _terminate(signum, frame):  # pragma: no cover - signal plumbing
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        data = sb.seed
        app_info, firm_login = data["app"], data["logins"][0]
        if ctx.json:
            line = {
                "base_url": sb.base_url,
                "client_id": app_info["client_id"],
                "client_secret": app_info["client_secret"],
                "redirect_uri": app_info["redirect_uri"],
                "username": firm_login["username"],
                "password": firm_login["password"],
                "auth_url": f"{sb.base_url}/api/oauth2/auth",
                "token_url": f"{sb.base_url}/api/oauth2/token",
                "seed_url": f"{sb.base_url}/_sandbox/seed",
                "clients": clients,
                "seed": seed,
                "profile": sb.profile,
                "sites": dict(sb.base_urls),
                "firm": data["firm"],
                "logins": [
                    {k: login[k] for k in ("username", "password", "role", "full_name", "company")}
                    for login in data["logins"]
                ],
            }
            ctx.out.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
            ctx.out.stdout.flush()
        else:
            firm = _("{name} (division {code})").format(
                name=data["firm"]["name"], code=data["firm"]["division"]
            )
            ctx.out.fields(
                [
                    (_("base URL"), sb.base_url),
                    (_("client id"), app_info["client_id"]),
                    (_("client secret"), app_info["client_secret"]),
                    (_("redirect URI"), app_info["redirect_uri"]),
                    (_("firm"), firm),
                    (_("clients"), clients),
                    (_("profile"), sb.profile),
                    *(
                        (_("site {name}").format(name=name), url)
                        for name, url in sb.base_urls.items()
                        if len(sb.sites) > 1
                    ),
                    (_("seed"), f"{sb.base_url}/_sandbox/seed"),
                ]
            )
            ctx.out.line()
            ctx.out.table(
                [_("username"), _("password"), _("role"), _("name")],
                [
                    (lg["username"], lg["password"], lg["role"], lg["full_name"])
                    for lg in data["logins"]
                ],
            )
            ctx.out.stdout.flush()
        ctx.out.info(_("Sandbox running at {url}. Press Ctrl-C to stop.").format(url=sb.base_url))
        sb.serve_forever()
    except KeyboardInterrupt:
        # Ctrl-C is how this command ends (also while the banner is still printing): exit 0.
        ctx.out.info(_("Sandbox stopped."))
    finally:
        sb.stop()
        signal.signal(signal.SIGTERM, previous)
