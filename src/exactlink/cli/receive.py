"""How `exact connect` receives Exact's answer: a relay listener beside a paste prompt, the
paste prompt alone, or a loopback listener (docs/connecting.md "Modes").

Each ``receiver(...)`` returns ``receive(auth_url, state)``, which shows or opens the address
and returns what came back: a redirect URL, its query, or the relay page's line.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from exactlink.adapters.exact.loopback import RelayListener
    from exactlink.cli.context import AppContext


def _can_open_browser() -> bool:
    """A graphical browser can be opened: never start a console browser inside the terminal."""
    import os

    if os.environ.get("BROWSER"):
        return True
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _open_browser(url: str) -> None:
    if _can_open_browser():
        import webbrowser

        try:
            webbrowser.open(url)
        except Exception:
            pass  # the URL is printed; opening is a convenience


def _show(ctx: AppContext, url: str) -> None:
    """The authorize URL, always printed (over SSH the person copies it)."""
    from exactlink.i18n import _

    ctx.out.info(_("Open this address in a browser and sign in to Exact Online:"))
    ctx.out.stderr.write(url + "\n")
    ctx.out.stderr.flush()


def receiver(
    ctx: AppContext,
    mode: str,
    redirect_uri: str,
    timeout: float,
    *,
    listener: RelayListener | None,
    print_url: bool,
    browser: bool,
) -> Any:
    """``receive(auth_url, state)`` for the mode: the address, query or line that came back."""
    from exactlink.i18n import _
    from exactlink.services.exact_app import MODE_PASTE

    out = ctx.out

    if print_url:

        def share(url: str, state: str) -> str:
            stream = out.stderr if ctx.json else out.stdout
            stream.write(url + "\n")
            stream.flush()
            out.info(
                _(
                    "Send this address to the colleague who holds the firm's Exact login. After "
                    "Allow (Toestaan), paste here the line the page shows (or the whole address), "
                    "within a few minutes of consenting: the code expires after about 3 minutes. "
                    "Waiting up to {s:.0f} s..."
                ).format(s=timeout)
            )
            return _read_line(ctx, timeout)

        return share

    if listener is not None:

        def relay(url: str, state: str) -> str:
            listener.expect(state)
            _show(ctx, url)
            if browser:
                _open_browser(url)
            out.info(
                _(
                    "Waiting for the browser (up to {s:.0f} s). If the page shows a line to "
                    "copy instead, paste it here:"
                ).format(s=timeout)
            )
            return _listener_or_paste(listener, timeout)

        return relay

    if mode == MODE_PASTE:

        def paste(url: str, state: str) -> str:
            _show(ctx, url)
            if browser:
                _open_browser(url)
            out.info(
                _("After you press Allow (Toestaan), paste the address the browser landed on:")
            )
            return _read_line(ctx, timeout)

        return paste

    def listen(url: str, state: str) -> str:
        from exactlink.adapters.exact.loopback import LoopbackListener

        with LoopbackListener(redirect_uri, ctx.paths.tls_dir) as loopback:
            loopback.expect(state)  # another or no state never ends the wait
            _show(ctx, url)
            _open_browser(url)
            out.info(
                _("Waiting for the browser on {uri} (up to {s:.0f} s)...").format(
                    uri=redirect_uri, s=timeout
                )
            )
            return loopback.wait(timeout)

    return listen


def _timed_out(timeout: float) -> Exception:
    from exactlink.errors import ExactUnreachable
    from exactlink.i18n import _

    return ExactUnreachable(
        _("No answer from the browser or the terminal within {s:.0f} s.").format(s=timeout),
        hint=_("Run `exactlink exact connect` again (--timeout S for more time)."),
    )


def _listener_or_paste(listener: RelayListener, timeout: float) -> str:
    """Whichever comes first: the relay page's forward to the listener, or a pasted line."""
    import queue
    import threading
    import time

    from exactlink.errors import Cancelled
    from exactlink.i18n import _

    lines: queue.Queue[str] = queue.Queue()
    stream = sys.stdin

    def read() -> None:
        # A daemon thread: left blocked on a terminal when the listener wins, gone at exit.
        try:
            while True:
                line = stream.readline()
                if not line:
                    return  # end of input: only the listener can answer now
                if line.strip():
                    lines.put(line.strip())
                    return
        except (OSError, ValueError):
            return

    threading.Thread(target=read, name="paste", daemon=True).start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            if listener.done:
                return listener.wait(0)
            try:
                return lines.get(timeout=0.1)
            except queue.Empty:
                pass
            if time.monotonic() >= deadline:
                raise _timed_out(timeout)
    except KeyboardInterrupt:
        raise Cancelled(_("Interrupted.")) from None


def _read_line(ctx: AppContext, timeout: float) -> str:
    """One line from stdin within ``timeout`` seconds (a pasted address or line)."""
    from exactlink.errors import ExactUnreachable, UsageError
    from exactlink.i18n import _

    stream = sys.stdin
    try:
        fileno = stream.fileno()
    except (AttributeError, ValueError, OSError):
        fileno = None
    if fileno is not None and sys.platform != "win32":
        import select

        ready, _w, _x = select.select([stream], [], [], timeout)
        if not ready:
            raise ExactUnreachable(
                _("No address was pasted within {s:.0f} s.").format(s=timeout),
                hint=_("Run `exactlink exact connect` again (--timeout S for more time)."),
            )
    line = stream.readline()
    if not line.strip():
        raise UsageError(
            _("No address was pasted."),
            hint=_("Paste the address the browser landed on after you pressed Allow."),
        )
    return line.strip()
