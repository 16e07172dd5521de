"""The Exact Online REST client: ``ExactClient`` implements ``services.ports.ExactPort``.

* URLs: ``{site}/api/v1/{path}``; a ``__next`` link is followed only on the same site, so the
  bearer token never leaves for another host.
* Envelopes (§3.2): ``{"d": {"results": [...], "__next": ...}}``, ``{"d": [...]}`` (with
  ``$top``), ``{"d": {...}}``; dates ``/Date(ms)/`` (§3.6) become epoch seconds in ``me()`` and
  ``divisions()``; ``exact api`` passes Exact's JSON through untouched.
* Errors (§3.7, §3.8): 401 → one refresh-and-retry, then ``ReconnectNeeded``; 403 →
  ``ExactRefused`` with the ``Reason`` header or the reason read from the OData message; 429 →
  wait for the minutely reset (at most a minute, a few times), or ``RateLimited`` at the daily
  limit or the hourly error block (§5.1); network errors and 502/503/504 on GET are retried
  with backoff (a passed total deadline is not: it would wait as long again); no other 4xx is
  ever retried (more than 10 errors an hour on an endpoint blocks the app there, §5.3). Every
  error Exact returns is recorded (never a token), and the rate-limit headers are kept per
  division (§5.2).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from exactlink.adapters.exact import http
from exactlink.adapters.exact.headers import (
    int_header,
    rate_limit_from_headers,
    reset_ms,
    server_time,
)
from exactlink.adapters.exact.odata import convert_dates, first_record, unwrap
from exactlink.adapters.exact.parallel import Owner
from exactlink.adapters.exact.refusals import (
    current_not_granted,
    error_block,
    odata_message,
    reason_from,
    reason_header,
    refusal_hint,
)
from exactlink.adapters.exact.sites import API_PATH
from exactlink.errors import Cancelled, ExactRefused, ExactTooSlow, ExactUnreachable, RateLimited
from exactlink.exact_records import DivisionRecord, MeRecord
from exactlink.i18n import _, local_time
from exactlink.models import RateLimitState

if TYPE_CHECKING:
    import requests

    from exactlink.adapters.exact.tokens import TokenManager
    from exactlink.adapters.store.connections import ConnectionRepository
    from exactlink.models import Connection

# Fields of system/Divisions the services need; always an explicit $select (§3.4).
DIVISION_SELECT = (
    "Code,Description,Hid,Customer,CustomerName,VATNumber,ChamberOfCommerceNumber,Status,"
    "BlockingStatus,IsMainDivision,Country"
)
MAX_PAGES = 1000  # 60 000 records: a runaway __next loop stops here
GET_ATTEMPTS = 3  # network errors, 502/503/504 on GET
BACKOFF = (1.0, 3.0)
RETRYABLE = frozenset({502, 503, 504})
MINUTELY_WAITS = 3
MINUTE = 60.0

# Module-level so tests can replace it with one that advances the sandbox clock.
sleep: Callable[[float], None] = time.sleep


@dataclass
class ApiResponse:
    """What ``exact api`` prints: Exact's JSON as it came (None for 204)."""

    status: int
    data: Any


class ExactClient:
    """One live connection (one token chain) to Exact Online's REST API."""

    def __init__(
        self,
        connection: Connection,
        tokens: TokenManager,
        session: requests.Session,
        *,
        recorder: ConnectionRepository | None = None,
        on_wait: Callable[[float, str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.connection = connection
        self.site = connection.base_url.rstrip("/")
        self.tokens = tokens
        self.session = session
        self.recorder = recorder
        self.on_wait = on_wait
        self.clock = clock
        self._limits: dict[int, RateLimitState] = {}
        self._limits_lock = threading.Lock()
        self._me: MeRecord | None = None
        # While `concurrently` runs: the thread that may write (store, keyring, token chain).
        self._owner: Owner | None = None

    # -- concurrency -------------------------------------------------------------------------
    def concurrently(
        self,
        jobs: Sequence[Callable[[], Any]],
        workers: int,
        on_done: Callable[[int], None] | None = None,
    ) -> list[Any]:
        """Run ``jobs`` (each making calls through this client) on ``workers`` threads; results
        or exceptions in the jobs' order. Store, keyring and token writes stay on this thread
        (see ``parallel``). Exact's limits are per division (§5.1): give each job its own."""
        if self._owner is not None:
            raise RuntimeError("concurrently() is not re-entrant")
        owner = Owner()
        self._owner = owner
        try:
            return owner.run(jobs, workers, on_done)
        finally:
            self._owner = None

    def _worker(self) -> Owner | None:
        """The owner when this call runs on a worker thread, else None (write directly)."""
        owner = self._owner
        return owner if owner is not None and not owner.here() else None

    def _write(self, fn: Callable[..., Any], *args: Any) -> None:
        owner = self._worker()
        if owner is None:
            fn(*args)
        else:
            owner.post(fn, *args)

    def _token(self, fn: Callable[..., str], *args: Any) -> str:
        """A token call: on a worker, the token held in memory while it is fresh, else the call
        made by the owner (a refresh writes the store and the keyring)."""
        owner = self._worker()
        if owner is None:
            return fn(*args)
        if not args:
            held = self.tokens.held_token()
            if held:
                return held
        return owner.call(fn, *args)

    # -- URLs --------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            if not path.startswith(self.site + "/"):
                raise ExactRefused(
                    _("Refusing to send the token to another host: {url}").format(
                        url=http.redact_url(path.split("?")[0])
                    )
                )
            return path
        return self.site + API_PATH + path.lstrip("/")

    @staticmethod
    def _split(url: str) -> tuple[int | None, str]:
        """``(division, endpoint)`` of an API URL: ``.../api/v1/123/crm/Accounts`` gives
        ``(123, "crm/Accounts")``; ``current/Me`` has no division."""
        parts = urlsplit(url).path.split(API_PATH, 1)[-1].split("/")
        if parts[0].isdigit():
            return int(parts[0]), "/".join(parts[1:])
        return None, "/".join(parts)

    def _token_error(self) -> Exception:
        """The chain's answer to a second 401 (it marks the connection: the owner writes)."""
        owner = self._worker()
        if owner is not None:
            return owner.call(self.tokens.mark_unauthorized)
        return self.tokens.mark_unauthorized()

    # -- one request -------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
    ) -> ApiResponse:
        """One API call with the retries that are safe (see the module docstring)."""
        method = method.upper()
        url = self.url(path)
        division, endpoint = self._split(url)
        token = self._token(self.tokens.access_token)
        refreshed = False
        attempts = 0
        waits = 0
        headers = {"Content-Type": "application/json"} if json_body is not None else {}
        if method == "POST":
            headers["Prefer"] = "return=representation"  # §3.2: the created entity filled in
        while True:
            attempts += 1
            try:
                response = http.send(
                    self.session,
                    method,
                    url,
                    params=params,
                    json_body=json_body,
                    headers={**headers, "Authorization": f"Bearer {token}"},
                )
            except ExactUnreachable as exc:
                # Not past a total deadline (ExactTooSlow): another try would wait as long again.
                if (
                    method == "GET"
                    and attempts < GET_ATTEMPTS
                    and not isinstance(exc, ExactTooSlow)
                ):
                    self._pause(BACKOFF[attempts - 1], "retry")
                    continue
                raise
            self._track(division, response)
            status = response.status_code
            if status < 400:
                return ApiResponse(status, _json_or_none(response))
            if status == 401:
                self._record(method, endpoint, division, response, "")
                if refreshed:
                    raise self._token_error()
                refreshed = True
                token = self._token(self.tokens.after_unauthorized, token)
                continue
            if error_block(response):
                # Recognised by status or body: Exact's answer while blocked is [U] (§5.1).
                raise self._blocked(method, endpoint, division, response)
            if status == 429:
                wait = self._too_many(method, endpoint, division, response, waits)
                waits += 1
                # The countdown names the administration, or the endpoint when the call has
                # none (current/Me is metered too, §5.2).
                self._pause(wait, "minutely", endpoint if division is None else division)
                continue
            if method == "GET" and status in RETRYABLE and attempts < GET_ATTEMPTS:
                self._pause(BACKOFF[attempts - 1], "retry")
                continue
            message = odata_message(response)
            reason = reason_from(response, message) if status == 403 else None
            self._record(method, endpoint, division, response, message, reason)
            if status >= 500:
                raise ExactUnreachable(
                    _("Exact Online failed (HTTP {status}) on {method} {endpoint}.").format(
                        status=status, method=method, endpoint=endpoint
                    ),
                    hint=_("Try again in a few minutes."),
                )
            raise ExactRefused(
                _("Exact Online refused {method} {endpoint} (HTTP {status}): {message}").format(
                    method=method,
                    endpoint=endpoint,
                    status=status,
                    message=message or response.reason,
                ),
                hint=refusal_hint(reason, division),
                status=status,
                reason=reason,
                details={"division": division} if division is not None else None,
            )

    def _blocked(
        self, method: str, endpoint: str, division: int | None, response: requests.Response
    ) -> RateLimited:
        """The hourly error block (§5.1): never retried, since retrying extends it."""
        where = str(division) if division is not None else endpoint
        message = odata_message(response)
        self._record(method, endpoint, division, response, message, "ErrorLimitExceeded")
        return RateLimited(
            _(
                "Exact blocked the app on {endpoint} in {where} for an hour: too many errors."
            ).format(endpoint=endpoint, where=where),
            hint=_("Fix the cause first (`exactlink doctor`); retrying extends the block."),
            details={"division": division, "reason": "ErrorLimitExceeded"},
        )

    def _pause(self, seconds: float, why: str, where: int | str | None = None) -> None:
        """Sleep in steps of at most a second, telling ``on_wait`` what is left (countdown);
        the label is ``why:where`` (a division number or an endpoint)."""
        remaining = max(0.0, seconds)
        label = why if where is None else f"{why}:{where}"
        while remaining > 0:
            owner = self._worker()
            if owner is not None and owner.closed:
                raise Cancelled(_("Interrupted."))
            if self.on_wait is not None:
                self._write(self.on_wait, remaining, label)
            step = min(1.0, remaining)
            sleep(step)
            remaining -= step
        if self.on_wait is not None:
            self._write(self.on_wait, 0.0, label)

    def _too_many(
        self,
        method: str,
        endpoint: str,
        division: int | None,
        response: requests.Response,
        waits: int,
    ) -> float:
        """How long to wait before retrying a 429, or ``RateLimited`` when waiting is useless."""
        h = response.headers
        where = str(division) if division is not None else endpoint
        if int_header(h.get("X-RateLimit-Remaining")) == 0:
            reset = reset_ms(h.get("X-RateLimit-Reset"))
            at = (
                datetime.fromtimestamp(reset / 1000, UTC).isoformat(timespec="seconds")
                if reset
                else None
            )
            self._record(method, endpoint, division, response, "daily limit", "DailyLimit")
            raise RateLimited(
                _(
                    "Exact's daily limit for this app in {where} is used up; it resets at {at}."
                ).format(where=where, at=local_time(reset / 1000) if reset else _("midnight UTC")),
                hint=_("Try again after the reset; other administrations are not affected."),
                details={"division": division, "reset_at": at, "reason": "DailyLimit"},
            )
        if waits >= MINUTELY_WAITS:
            raise RateLimited(
                _("Exact keeps answering 429 (too many requests) in {where}.").format(where=where),
                hint=_("Wait a minute and try again."),
                details={"division": division, "reason": "MinutelyLimit"},
            )
        reset = reset_ms(h.get("X-RateLimit-Minutely-Reset"))
        # The Reset is Exact's time: measured against Exact's clock when it answered, so this
        # computer's clock being minutes off does not turn a few seconds into the full minute.
        now = server_time(response) or self.clock()
        # Without a Reset header: windows align to the clock minute (§5.2).
        wait = MINUTE - (now % MINUTE) if reset is None else reset / 1000 - now
        # A minutely window is never longer than a minute, whatever the clocks say.
        return min(max(wait, 1.0), MINUTE) + 0.5

    def _track(self, division: int | None, response: requests.Response) -> None:
        if division is None:
            return
        state = rate_limit_from_headers(division, response.headers)
        if state is None:
            return
        with self._limits_lock:
            old = self._limits.get(division)
            if old is not None:  # a 429 carries only the exceeded family (§5.2): keep the other
                state = RateLimitState(
                    division,
                    *(
                        new if new is not None else prev
                        for new, prev in zip(state[1:], old[1:], strict=True)
                    ),
                )
            self._limits[division] = state
        if self.recorder is not None:
            self._write(self.recorder.save_rate_limit, self.connection.id, state)

    def _record(
        self,
        method: str,
        endpoint: str,
        division: int | None,
        response: requests.Response,
        message: str,
        reason: str | None = None,
    ) -> None:
        if self.recorder is None:
            return
        self._write(
            partial(
                self.recorder.record_error,
                self.connection.id,
                division=division,
                method=method,
                endpoint=endpoint,
                status=response.status_code,
                reason=reason or reason_header(response),
                message=message,
            )
        )

    # -- reading -----------------------------------------------------------------------------
    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).data

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[list[Any]]:
        """Each page of a collection, following ``__next`` one page at a time (§3.3)."""
        url: str | None = path
        query = params
        for _page in range(MAX_PAGES):
            if url is None:
                return
            records, nxt = unwrap(self.get(url, query))
            yield records if isinstance(records, list) else [records]
            url, query = nxt, None  # __next repeats $select/$filter itself
        raise ExactRefused(
            _("More than {n} pages from {path}; stopping.").format(n=MAX_PAGES, path=path)
        )

    def collection(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        return [record for page in self.pages(path, params) for record in page]

    # -- ExactPort ---------------------------------------------------------------------------
    def me(self) -> MeRecord:
        """``current/Me`` (a collection of one, §4.1), dates as epoch seconds."""
        if self._me is None:
            record = first_record(self.get("current/Me"))
            if record is None:
                raise ExactUnreachable(_("Exact Online sent a current/Me answer without a user."))
            self._me = cast(MeRecord, record)  # Exact's JSON, read with .get by the callers
        return self._me.copy()

    def divisions(self, via: int | None = None) -> list[DivisionRecord]:
        """``system/Divisions`` through ``Me.CurrentDivision``, retried once through ``via``
        when that division is refused (§4.2)."""
        current = self.me().get("CurrentDivision")
        params = {"$select": DIVISION_SELECT}
        first = current if current else via
        if first is None:
            raise ExactRefused(_("Exact did not say which administration is current."))
        try:
            records = self.collection(f"{int(first)}/system/Divisions", params)
        except ExactRefused as refused:
            if refused.status != 403 or via is None or int(via) == int(first):
                raise current_not_granted(refused, int(first)) from None
            records = self.collection(f"{int(via)}/system/Divisions", params)
        return [cast(DivisionRecord, convert_dates(r)) for r in records if isinstance(r, dict)]

    def probe(self, division: int) -> bool:
        """One GET of ``users/UserHasRights`` for GET crm/Accounts in ``division`` (§4.5)."""
        data = self.get(
            f"{int(division)}/users/UserHasRights",
            {"endpoint": "'crm/Accounts'", "action": "'GET'"},
        )
        body, _next = unwrap(data)
        if isinstance(body, dict) and "UserHasRights" in body:
            return bool(body["UserHasRights"])
        return bool(body)

    def rate_limit(self, division: int) -> RateLimitState | None:
        with self._limits_lock:
            found = self._limits.get(int(division))
        if found is None and self.recorder is not None:
            owner = self._worker()
            read = self.recorder.rate_limit
            found = (
                read(self.connection.id, int(division))
                if owner is None
                else owner.call(read, self.connection.id, int(division))
            )
        return found


def _json_or_none(response: requests.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text
