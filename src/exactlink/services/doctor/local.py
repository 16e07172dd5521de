"""The checks that need no Exact: store, configuration, keyring, portal, client, the app."""

from __future__ import annotations

from typing import Any

from exactlink.errors import ExactlinkError, NotFound, StoreDamaged
from exactlink.i18n import _, label
from exactlink.services.activation.rules import Case, refuse_pending
from exactlink.services.clients import get_client
from exactlink.services.doctor.report import FAIL, OK, WARN, Session, describe_error
from exactlink.services.exact_app import exact_redirect_problem, redirect_rule_hint


def check_store(s: Session) -> None:
    try:
        store = s.inputs.store()
        store.portals.list()
    except Exception as exc:
        s.add(
            "store",
            FAIL,
            _("The local store cannot be read: {error}").format(error=describe_error(exc)),
            exc.hint
            if isinstance(exc, StoreDamaged) and exc.hint
            else _("Check the permissions of the exactlink home (folders 0700, files 0600)."),
        )
        return
    s.store = store
    if store.is_team:
        s.add("store", OK, _("Team store reachable ({where}).").format(where=store.location))
        return
    s.add("store", OK, _("Local store readable ({path}).").format(path=store.path))


def check_config(s: Session) -> None:
    try:
        config = s.inputs.config()
    except Exception as exc:
        s.add(
            "config",
            FAIL,
            _("config.toml cannot be read: {error}").format(error=describe_error(exc)),
            _("Fix the file, or remove it and run `exactlink exact app set` again."),
        )
        return
    s.add("config", OK, _("Configuration readable ({path}).").format(path=config.path))


def check_keyring(s: Session) -> None:
    try:
        secrets = s.inputs.secrets()
        secrets.get("doctor-check")  # answers (None) without storing anything
        where = None if secrets.secure else _file_state(secrets)
    except Exception as exc:
        s.add(
            "keyring",
            FAIL,
            _("Secure storage is not usable: {error}").format(error=describe_error(exc)),
            getattr(exc, "hint", None)
            or _("Unlock the OS keyring, or opt in with --insecure-storage on a server."),
        )
        return
    if where is not None:
        s.add(
            "keyring",
            WARN,
            _("Secrets are kept in a file ({where}), by your --insecure-storage opt-in.").format(
                where=where
            ),
            _("Use an OS keyring where one is available (Secret Service, Keychain)."),
        )
        return
    s.add(
        "keyring",
        OK,
        _("Keyring answering ({backend}).").format(backend=label(secrets.backend_name)),
    )


def _file_state(secrets: Any) -> str:
    """Where the insecure file is and its mode as it is on disk (``os.lstat``, not what exactlink
    meant to create); a mode open to others never gets here (the store refuses it first)."""
    from exactlink.adapters.secret_file import InsecureFileSecretStore

    if not isinstance(secrets, InsecureFileSecretStore):
        return str(secrets.backend_name)
    mode = secrets.file_mode()
    if mode is None:
        return _("{path}, not created yet").format(path=secrets.path)
    if not secrets.has_modes:  # Windows: no mode bits to show; the folder's ACL protects it
        return str(secrets.path)
    return _("{path}, mode {mode:04o}").format(path=secrets.path, mode=mode)


def check_portal(s: Session) -> None:
    if s.store is None:
        s.cannot("portal", _("the store is not readable"))
        return
    try:
        s.report.portal = s.inputs.portal_name()
    except Exception as exc:
        s.add("portal", FAIL, describe_error(exc), _("See `exactlink portal list`."))
        return
    try:
        s.portal = s.inputs.portal()
    except ExactlinkError as exc:  # NotFound: none chosen, or no such portal
        s.add("portal", FAIL, exc.message, exc.hint)
        return
    s.add("portal", OK, _("Portal '{name}' exists.").format(name=s.portal.name))


def check_client(s: Session) -> None:
    if s.client_name is None:
        return
    if s.store is None or s.portal is None:
        s.cannot("client", _("no portal"))
        return
    try:
        client = get_client(s.store, s.portal, s.client_name)
    except NotFound as exc:
        s.add("client", FAIL, exc.message, exc.hint)
        return
    s.client = client
    s.report.client = client.name
    s.add("client", OK, _("Client '{name}' exists.").format(name=client.name))
    pending = refuse_pending(Case(client=client, portal=s.portal))  # the activation rule
    if pending is not None:
        s.add("client_access", FAIL, pending.message or "", pending.fix, cause=pending.cause)
    else:
        s.add("client_access", OK, _("The client granted the firm access."))
    if s.code is None and client.division is not None:
        s.code = client.division


def check_app(s: Session) -> Any:
    try:
        app = s.inputs.app()
    except Exception as exc:
        s.add(
            "exact_app",
            FAIL,
            _("The Exact app is not configured: {error}").format(error=describe_error(exc)),
            _("Register it: `exactlink exact app set --client-id ID --redirect-uri URI`."),
        )
        return None
    try:
        s.inputs.client_secret()
    except Exception as exc:
        s.add(
            "exact_app",
            FAIL,
            _("The Exact app's client secret cannot be read: {error}").format(
                error=describe_error(exc)
            ),
            _("Store it again: `exactlink exact app set` (the secret is read from stdin)."),
        )
        return app
    problem = exact_redirect_problem(app.redirect_uri) if app.real_site else None
    if problem:
        s.add(
            "exact_app",
            FAIL,
            _("The redirect URI {uri} will be refused by Exact Online: {problem}").format(
                uri=app.redirect_uri, problem=problem
            ),
            redirect_rule_hint(),
        )
        return app
    s.add(
        "exact_app",
        OK,
        _("Exact app {client_id} configured for {site}.").format(
            client_id=app.client_id, site=app.site
        ),
    )
    return app
