"""Building the BigQuery client: anonymous against an emulator, Application Default Credentials
otherwise, and never a hang while looking for credentials (see `find_credentials`).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from nba_tui.identifiers import check_project
from nba_tui.warehouse.bq_errors import CREDENTIALS_MESSAGE, CredentialsError

if TYPE_CHECKING:
    from nba_tui.config import BigQuerySettings

#: Longest wait for Application Default Credentials (the metadata-server probe can hang).
AUTH_TIMEOUT = 10.0
SCOPES = ("https://www.googleapis.com/auth/bigquery",)

__all__ = ["emulator_endpoint", "find_credentials", "make_client"]


def emulator_endpoint(settings: BigQuerySettings) -> str | None:
    """The API endpoint override: the config's `endpoint`, else `BIGQUERY_EMULATOR_HOST`."""
    endpoint = settings.endpoint or os.environ.get("BIGQUERY_EMULATOR_HOST") or None
    if endpoint and "://" not in endpoint:
        endpoint = f"http://{endpoint}"
    return endpoint


def find_credentials(timeout: float = AUTH_TIMEOUT) -> Any:
    """Application Default Credentials, or a `CredentialsError` with one line to act on.

    `google.auth.default()` probes the GCE metadata server when nothing else is configured; on
    some networks that probe hangs, so it runs in a daemon thread with a deadline.
    """
    import google.auth
    from google.auth import exceptions as auth_exc

    box: dict[str, Any] = {}

    def probe() -> None:
        try:
            box["creds"], _ = google.auth.default(scopes=SCOPES)
        except auth_exc.DefaultCredentialsError as e:
            box["error"] = e
        except Exception as e:  # noqa: BLE001 - reported below as a credentials problem
            box["error"] = e

    worker = threading.Thread(target=probe, name="nba-tui-adc", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise CredentialsError(
            f"{CREDENTIALS_MESSAGE} (the credential lookup did not finish in {timeout:g}s)",
            hint="or set NO_GCE_CHECK=true when not running on Google Cloud",
        )
    if "error" in box:
        err = box["error"]
        if isinstance(err, auth_exc.DefaultCredentialsError) and "File" in str(err):
            # GOOGLE_APPLICATION_CREDENTIALS points at a missing or broken file: say which.
            path = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS", "")
            raise CredentialsError(
                f"Google credentials file {path!r} is not usable",
                hint="fix GOOGLE_APPLICATION_CREDENTIALS or run "
                "`gcloud auth application-default login`",
            )
        raise CredentialsError(
            CREDENTIALS_MESSAGE, hint="or set warehouse.bigquery.endpoint for an emulator"
        )
    return box["creds"]


def make_client(settings: BigQuerySettings) -> bigquery.Client:
    """A client for the project: anonymous against an emulator endpoint, else ADC."""
    project = check_project(settings.project)
    endpoint = emulator_endpoint(settings)
    if endpoint:
        return bigquery.Client(
            project=project,
            credentials=AnonymousCredentials(),
            location=settings.location,
            client_options=ClientOptions(api_endpoint=endpoint),
        )
    return bigquery.Client(
        project=project, credentials=find_credentials(), location=settings.location
    )
