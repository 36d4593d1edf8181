"""Who may see and decide what, per use case, through Airflow's auth manager.

- Anonymous requests get 401 and bad tokens 403 (Airflow's own ``get_user`` decides).
- A *governance* user (a role named in ``[ai_governance] governance_roles``, default ``admin`` and
  ``ai governance``; roles are read from the auth manager's user: SimpleAuthManager's role, FAB's
  roles; an auth manager whose users carry no roles is asked ``is_authorized_custom_view(PUT,
  "AI Governance")``) sees every use case and may take lifecycle decisions.
- Anyone else sees a use case (its policy, runs, approvals, audit events) only if Airflow lets
  them read at least one DAG that runs it (``get_authorized_dag_ids``); other use cases answer 403
  and are left out of lists. Events of no use case are for governance users only.
- Promotion to production (and reinstatement) is never decided by the use case's owner, whatever
  their roles (identities compared with :func:`~airflow_ai_governance.policy.identity.same_identity`).
- Requests that change state and are authenticated by the session cookie (the pages) must come from
  this origin (``Origin``/``Referer``): a cross-site form or script cannot decide for a logged-in user.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from fastapi import HTTPException, Request
from sqlalchemy.orm import Session

from airflow_ai_governance.policy.identity import Actor, normalize_identity, same_identity
from airflow_ai_governance.store.models import ApprovalRequest, GovernedRun

GOVERNANCE_RESOURCE = "AI Governance"
DEFAULT_GOVERNANCE_ROLES = "admin,ai governance"
#: How long the map "use case -> DAGs that ran it" is reused (seconds). It only grows, so a stale
#: map can hide a use case for that long, never show one it should not.
USE_CASE_DAGS_TTL = 30.0


@dataclass(frozen=True, slots=True)
class Viewer:
    """The authenticated user of a request, as the governance pages see them.

    ``dag_ids`` is ``None`` for governance users (everything is visible), else the DAGs Airflow
    lets them read.
    """

    user_id: str
    name: str
    roles: tuple[str, ...]
    governance: bool
    dag_ids: frozenset[str] | None
    cookie_auth: bool = False

    def actor(self) -> Actor:
        """Who decides, for the registry: the Airflow user the auth manager verified (the API
        server's own OS account is not this person, so it is not recorded)."""
        return Actor(by=self.name, airflow_user=self.name)

    def is_person(self, person: str | None) -> bool:
        """Whether ``person`` (a policy's user id) is this user (by id or name, normalised)."""
        return same_identity(self.user_id, person) or same_identity(self.name, person)


class UseCaseAccess:
    """The use cases a viewer may see, from the DAGs that ran them (governed runs, approval requests)."""

    def __init__(self, ttl: float = USE_CASE_DAGS_TTL) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, dict[str, frozenset[str]]]] = {}

    def use_case_dags(self, session: Session) -> dict[str, frozenset[str]]:
        key = session.get_bind().engine.url.render_as_string(hide_password=False)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit and now - hit[0] < self.ttl:
                return hit[1]
        pairs: dict[str, set[str]] = {}
        for model in (GovernedRun, ApprovalRequest):
            stmt = sa.select(model.use_case_id, model.dag_id).distinct()
            for use_case_id, dag_id in session.execute(stmt):
                pairs.setdefault(use_case_id, set()).add(dag_id)
        frozen = {k: frozenset(v) for k, v in pairs.items()}
        with self._lock:
            self._cache[key] = (now, frozen)
        return frozen

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def visible(self, session: Session, viewer: Viewer) -> set[str] | None:
        """The use case ids ``viewer`` may see; ``None`` means all of them."""
        if viewer.dag_ids is None:
            return None
        allowed = viewer.dag_ids
        return {uc for uc, dags in self.use_case_dags(session).items() if dags & allowed}

    def condition(
        self, session: Session, viewer: Viewer, column: Any, use_case: str | None = None
    ) -> sa.ColumnElement[bool] | None:
        """A filter on ``column`` (a use case id) keeping what ``viewer`` may see (``None``: no filter
        needed); with ``use_case``, only that one, and 403 if ``viewer`` may not see it."""
        if use_case:
            self.require(session, viewer, use_case)
            return column == use_case  # type: ignore[no-any-return]
        visible = self.visible(session, viewer)
        if visible is None:
            return None
        return column.in_(sorted(visible)) if visible else sa.false()  # type: ignore[no-any-return]

    def may_see(self, session: Session, viewer: Viewer, use_case_id: str | None) -> bool:
        if viewer.dag_ids is None:
            return True
        if use_case_id is None:
            return False
        return bool(self.use_case_dags(session).get(use_case_id, frozenset()) & viewer.dag_ids)

    def require(self, session: Session, viewer: Viewer, use_case_id: str | None) -> None:
        """403 unless ``viewer`` may see ``use_case_id``."""
        if not self.may_see(session, viewer, use_case_id):
            raise HTTPException(
                403,
                f"{viewer.name} may not see use case {use_case_id!r}: access follows the DAGs that run it. "
                "Ask an Airflow admin for read access to one of its DAGs, or for a governance role.",
            )


ACCESS = UseCaseAccess()


def require_governance(viewer: Viewer, action: str) -> None:
    if not viewer.governance:
        raise HTTPException(
            403,
            f"{action} needs a governance role ({', '.join(governance_roles())}); {viewer.name} has "
            f"{', '.join(viewer.roles) or 'no role'}. Ask an Airflow admin to grant one.",
        )


def require_same_origin(request: Request, viewer: Viewer) -> None:
    """A state-changing request authenticated by the session cookie must come from this origin."""
    if not viewer.cookie_auth:
        return
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        raise HTTPException(403, "refused: a page request that changes state must carry its Origin")
    parts = urlsplit(source)
    if f"{parts.scheme}://{parts.netloc}" != f"{request.url.scheme}://{request.url.netloc}":
        raise HTTPException(403, f"refused: cross-site request from {parts.scheme}://{parts.netloc}")


# ------------------------------------------------------------------------------- Airflow side
def governance_roles() -> tuple[str, ...]:
    """Role names that hold the governance role (``[ai_governance] governance_roles``), normalised."""
    try:
        from airflow.configuration import conf

        raw = conf.get("ai_governance", "governance_roles", fallback=DEFAULT_GOVERNANCE_ROLES)
    except ImportError:  # pragma: no cover - the plugin always runs inside Airflow
        raw = DEFAULT_GOVERNANCE_ROLES
    return tuple(normalize_identity(r) for r in str(raw).split(",") if r.strip())


def user_roles(user: Any) -> tuple[str, ...] | None:
    """The auth manager's roles of ``user``: SimpleAuthManager's ``role``, FAB's ``roles``; ``None``
    when the user object carries no roles."""
    roles = getattr(user, "roles", None)
    if isinstance(roles, Iterable) and not isinstance(roles, str):
        return tuple(str(getattr(r, "name", r)) for r in roles)
    role = getattr(user, "role", None)
    if isinstance(role, str) and role:
        return (role,)
    return None


def viewer_from_user(user: Any, auth_manager: Any, *, cookie_auth: bool) -> Viewer:
    roles = user_roles(user)
    if roles is not None:
        wanted = set(governance_roles())
        governance = any(normalize_identity(r) in wanted for r in roles)
    else:
        governance = bool(
            auth_manager.is_authorized_custom_view(method="PUT", resource_name=GOVERNANCE_RESOURCE, user=user)
        )
    dag_ids = None if governance else frozenset(auth_manager.get_authorized_dag_ids(user=user, method="GET"))
    return Viewer(
        user_id=str(user.get_id()),
        name=str(user.get_name()),
        roles=roles or (),
        governance=governance,
        dag_ids=dag_ids,
        cookie_auth=cookie_auth,
    )


def airflow_viewer_dependency() -> Callable[..., Viewer]:
    """A FastAPI dependency: the request's user through Airflow's auth (401/403 as Airflow answers)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi import Depends

    authenticated_user = Depends(get_user)

    def viewer(request: Request, user: Any = authenticated_user) -> Viewer:
        auth_header = request.headers.get("authorization", "")
        cookie_auth = not auth_header.lower().startswith("bearer ")
        return viewer_from_user(user, get_auth_manager(), cookie_auth=cookie_auth)

    return viewer
