"""BigQuery failures turned into one-line `WarehouseError`s the dashboard and the CLI can show.

Why a module of its own: the monitor needs to tell a rate limit from a quota from a dead endpoint
(each calls for a different back-off), but it must not import the heavy Google client to do so.
The subclasses below are plain Python; `translate()` imports the client's exception types lazily.

BigQuery reports the cause in `errors[0]["reason"]` of the JSON error body, not in the HTTP status:
`quotaExceeded` and `rateLimitExceeded` both arrive as 403 (sometimes 429), `accessDenied` as 403.
"""

from __future__ import annotations

import re

from nba_tui.fmt import one_line
from nba_tui.warehouse.base import WarehouseError

#: Seconds to wait after `quotaExceeded` (a daily or per-project quota: retrying soon is useless).
QUOTA_BACKOFF = 300.0
#: First wait after `rateLimitExceeded`; the monitor doubles it on every further one.
RATE_LIMIT_BACKOFF = 5.0

STALE_HINT = "check the network or raise warehouse.bigquery.timeout"
CREDENTIALS_MESSAGE = (
    "no Google credentials found: set GOOGLE_APPLICATION_CREDENTIALS "
    "or run `gcloud auth application-default login`"
)


class RateLimited(WarehouseError):
    """`rateLimitExceeded` / HTTP 429: too many requests right now; back off exponentially."""


class QuotaExceeded(WarehouseError):
    """`quotaExceeded`: a quota is used up; back off for minutes."""


class Unreachable(WarehouseError):
    """BigQuery did not answer in time (or the connection failed): show the data as stale."""


class CredentialsError(WarehouseError):
    """No usable credentials: nothing will work until the user fixes them."""


def _reason(exc: BaseException) -> str:
    try:
        return str(exc.errors[0]["reason"])  # type: ignore[attr-defined]
    except (AttributeError, IndexError, KeyError, TypeError):
        return ""


def _server_message(exc: BaseException) -> str:
    """The server's own message, first line only (api_core appends the request URL and job id)."""
    try:
        text = str(exc.errors[0]["message"])  # type: ignore[attr-defined]
    except (AttributeError, IndexError, KeyError, TypeError):
        text = getattr(exc, "message", None) or str(exc)
    return one_line(text, 300, first=True)


_NOT_FOUND = re.compile(r"Not found: (Table|Dataset|Project|Job)\s+([\w.:-]+)", re.IGNORECASE)


def not_found_target(exc: BaseException) -> str | None:
    """`table nba-props-platform:nba_raw.x` from BigQuery's not-found message, if it names one."""
    m = _NOT_FOUND.search(str(exc))
    if not m:
        return None
    return f"{m.group(1).lower()} {m.group(2).rstrip('.')}"


def translate(exc: BaseException, *, project: str, timeout: float, what: str) -> WarehouseError:
    """Map a client exception to a `WarehouseError` with a message naming what to fix.

    `what` describes the request (e.g. "coverage query over 15 tables") for the message.
    """
    from google.api_core import exceptions as gexc

    if isinstance(exc, WarehouseError):
        return exc
    if isinstance(exc, gexc.RetryError) and exc.cause is not None:
        cause = exc.cause
        if isinstance(cause, gexc.GoogleAPICallError) or refused(cause):
            return translate(cause, project=project, timeout=timeout, what=what)
        return Unreachable(
            f"BigQuery did not answer within {timeout:g}s ({what}; last error: "
            f"{type(cause).__name__})",
            hint=STALE_HINT,
        )
    reason = _reason(exc)
    detail = _server_message(exc)
    return (
        _by_reason(exc, reason, detail, project=project, what=what)
        or _by_status(exc, reason, detail, project=project, what=what)
        or _transport(exc, timeout=timeout, what=what)
        or _generic(exc, reason, detail)
    )


def _by_reason(
    exc: BaseException, reason: str | None, detail: str, *, project: str, what: str
) -> WarehouseError | None:
    """Errors told apart by BigQuery's `reason`: quotas, rate limits, the bytes-billed cap."""
    from google.api_core import exceptions as gexc

    if reason == "quotaExceeded":
        return QuotaExceeded(
            f"BigQuery quota exceeded (quotaExceeded): {detail}",
            hint=f"check the quotas of project {project} in the Cloud console, "
            "or lower max_queries_per_minute",
            retry_after=QUOTA_BACKOFF,
        )
    if reason == "rateLimitExceeded" or isinstance(exc, gexc.TooManyRequests):
        return RateLimited(
            f"BigQuery rate limit hit (rateLimitExceeded): {detail}",
            hint="backing off exponentially; lower warehouse.bigquery.max_queries_per_minute",
            retry_after=RATE_LIMIT_BACKOFF,
        )
    if reason == "bytesBilledLimitExceeded":
        return WarehouseError(
            f"BigQuery refused the {what}: it would bill more than max_bytes_billed ({detail})",
            hint="raise warehouse.bigquery.max_bytes_billed or use strategy: partitions",
        )
    return None


def _by_status(
    exc: BaseException, reason: str | None, detail: str, *, project: str, what: str
) -> WarehouseError | None:
    """Errors told apart by HTTP status: not found, credentials, permissions, bad requests."""
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc

    if isinstance(exc, gexc.NotFound):
        target = not_found_target(exc) or what
        return WarehouseError(
            f"BigQuery: {target} not found",
            hint=f"check the name in the config, the project ({project}) and the location",
        )
    if isinstance(
        exc, gexc.Unauthorized | auth_exc.RefreshError | auth_exc.DefaultCredentialsError
    ):
        return CredentialsError(
            f"BigQuery rejected the credentials: {detail}",
            hint="run `gcloud auth application-default login` "
            "or fix GOOGLE_APPLICATION_CREDENTIALS",
        )
    if isinstance(exc, gexc.Forbidden):
        if reason == "billingNotEnabled":
            hint = f"enable billing on project {project}"
        else:
            hint = (
                f"grant roles/bigquery.jobUser on project {project} and roles/bigquery.dataViewer "
                "on the datasets to the account in use"
            )
        return WarehouseError(
            f"BigQuery permission denied ({reason or 'forbidden'}): {detail}", hint
        )
    if isinstance(exc, gexc.BadRequest):
        return WarehouseError(
            f"BigQuery rejected the {what}: {detail}",
            hint="check that every date_column is a DATE column",
        )
    return None


def _transport(exc: BaseException, *, timeout: float, what: str) -> WarehouseError | None:
    """Timeouts and connections that could not be made (refused, reset, no route, DNS)."""
    import concurrent.futures

    import requests
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc

    timeouts = (gexc.DeadlineExceeded, concurrent.futures.TimeoutError, TimeoutError)
    if isinstance(exc, (*timeouts, requests.exceptions.Timeout)):
        return Unreachable(
            f"BigQuery did not answer within {timeout:g}s ({what})",
            hint=STALE_HINT,
        )
    if isinstance(exc, requests.exceptions.ConnectionError | auth_exc.TransportError):
        why = "connection refused" if refused(exc) else type(exc).__name__
        return Unreachable(
            f"cannot reach BigQuery: {why}",
            hint="check the network, or warehouse.bigquery.endpoint / BIGQUERY_EMULATOR_HOST",
        )
    return None


def refused(exc: BaseException) -> bool:
    """True when somewhere in the exception's chain the peer refused the connection."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ConnectionRefusedError) or "Connection refused" in str(cur):
            return True
        cur = (
            cur.__cause__
            or cur.__context__
            or (cur.args[0] if cur.args and isinstance(cur.args[0], BaseException) else None)
        )
    return False


def _generic(exc: BaseException, reason: str | None, detail: str) -> WarehouseError:
    from google.api_core import exceptions as gexc

    if isinstance(exc, gexc.GoogleAPICallError):
        code = getattr(exc, "code", None)
        return WarehouseError(
            f"BigQuery error {code or ''} {reason or type(exc).__name__}: {detail}".replace(
                "  ", " "
            ),
            hint="transient server errors are retried on the next poll",
        )
    return WarehouseError(f"BigQuery client error: {type(exc).__name__}: {detail}")


_NON_RETRYABLE_REASONS = {"rateLimitExceeded", "quotaExceeded", "jobRateLimitExceeded"}


def transient(exc: BaseException) -> bool:
    """Retry server hiccups and dropped connections, but not rate limits or quotas.

    A rate limit retried inside one poll keeps the poll in flight and hides the condition; the
    monitor backs off across polls instead and tells the user.
    """
    from google.api_core import exceptions as gexc  # loaded already by whoever retries
    from google.cloud.bigquery.retry import DEFAULT_RETRY

    if isinstance(exc, gexc.TooManyRequests) or refused(exc):
        return False  # a refused connection fails at once: say so now, the next poll retries
    try:
        if exc.errors[0]["reason"] in _NON_RETRYABLE_REASONS:  # type: ignore[attr-defined]
            return False
    except (AttributeError, IndexError, KeyError, TypeError):
        pass
    return bool(DEFAULT_RETRY._predicate(exc))
