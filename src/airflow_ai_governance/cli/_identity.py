"""Who runs an ``aigov`` decision: the name given, the OS account, and a verified Airflow user.

``--by`` is free text, so every decision also records the OS account that ran the command
(user, uid, host). A person can prove their Airflow identity by exporting an API token
(``AIGOV_AIRFLOW_TOKEN``, from ``POST /auth/token`` of the API server at ``AIGOV_AIRFLOW_URL``):
the token is checked with the API server (``GET /ui/auth/me``) and the user id it answers is
recorded. A token that does not verify is an error, never recorded as a claim; a ``--by`` that is
not the verified user is refused.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

from airflow_ai_governance.exceptions import PolicyError
from airflow_ai_governance.policy.identity import Actor, same_identity

TOKEN_ENV = "AIGOV_AIRFLOW_TOKEN"
URL_ENV = "AIGOV_AIRFLOW_URL"
#: When true, ``aigov policy approve-change`` needs a verified Airflow identity (a token).
REQUIRE_VERIFIED_ENV = "AIRFLOW__AI_GOVERNANCE__REQUIRE_VERIFIED_APPROVER"
_TIMEOUT = 15.0


def require_verified_approver() -> bool:
    return os.environ.get(REQUIRE_VERIFIED_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def cli_actor(by: str | None) -> Actor:
    """The actor of this command: ``--by`` (or the verified Airflow user, or the OS user) plus the
    OS account, and the Airflow user when ``AIGOV_AIRFLOW_TOKEN`` is set."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    airflow_user = verified_airflow_user(token) if token else None
    if airflow_user and by and not same_identity(by, airflow_user):
        raise PolicyError(
            f"--by {by!r} is not the Airflow user {airflow_user!r} of {TOKEN_ENV}: a decision is "
            "attributed to the person who proved who they are (drop --by, or use your own token)"
        )
    return Actor.of_process(by, airflow_user=airflow_user)


def verified_airflow_user(token: str) -> str:
    """The Airflow user id of ``token``, as the API server answers it (``GET /ui/auth/me``)."""
    base = (os.environ.get(URL_ENV) or os.environ.get("AIRFLOW__API__BASE_URL") or "").strip().rstrip("/")
    if not base:
        raise PolicyError(
            f"{TOKEN_ENV} is set but {URL_ENV} is not: give the Airflow API server's URL "
            "(e.g. http://airflow.example.com:8080) so the token can be checked"
        )
    if not base.startswith(("http://", "https://")):
        raise PolicyError(f"{URL_ENV}={base!r}: expected the http(s):// URL of the Airflow API server")
    request = urllib.request.Request(
        f"{base}/ui/auth/me", headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
            body = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise PolicyError(
            f"{TOKEN_ENV} was refused by the Airflow API server at {base} (HTTP {exc.code}): get a fresh "
            "token with POST /auth/token"
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        raise PolicyError(f"cannot check {TOKEN_ENV} with the Airflow API server at {base}: {exc}") from None
    user = body.get("id") if isinstance(body, dict) else None
    if not isinstance(user, str) or not user:
        raise PolicyError(f"the Airflow API server at {base} did not name the user of {TOKEN_ENV}")
    return user
