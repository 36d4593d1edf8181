"""A real Airflow 3 cluster in local processes, for end-to-end tests and demos.

**Testing/demo utility, not a deployment tool.** :class:`AirflowCluster` starts the components of
Airflow 3.3 (``api-server``, ``scheduler``, ``dag-processor``, ``triggerer``; ``LocalExecutor`` with
small parallelism) in a fresh ``AIRFLOW_HOME`` on a metadata database given by the caller, with
``SimpleAuthManager`` users that have real roles (never ``simple_auth_manager_all_admins``).
:class:`AirflowClient` is a small REST client for what the tests need (tokens, DAGs, runs, task
states, Human-in-the-loop answers, event log, task logs), with bounded waits whose errors carry
the task log and the component log tails.

Usage::

    from airflow_ai_governance.testing import AirflowCluster

    with AirflowCluster(dag_folders=["dags"], db_url="postgresql+psycopg://postgres@127.0.0.1/af") as c:
        client = c.client()
        client.wait_for_dag("my_dag")
        client.unpause("my_dag")
        run_id = client.trigger("my_dag")
        client.wait_until_parked("my_dag", run_id, "approve")  # see "HITL race" below
        assert client.respond("rita", "my_dag", run_id, "approve", ["Approve"]).status_code == 200
        assert client.wait_for_run("my_dag", run_id) == "success"

Command line (``make airflow`` uses it): ``python -m airflow_ai_governance.testing.airflow_cluster
--dags dags [--sqlite | --db-url URL]`` starts everything, prints the URL and the logins, and
Ctrl-C stops it. For tests on PostgreSQL, :func:`create_postgres_database` gives an already
migrated database (``migrate=False``) in about a second instead of a 10-30 s ``airflow db migrate``.

Facts this module relies on (Airflow 3.3.2, measured on a busy 2-core machine):

- Start: ``airflow db migrate`` 10-30 s; api-server, scheduler, dag-processor and triggerer
  healthy 30-50 s after that (the api-server is the slowest: ~11 CPU-s to build its app; every
  component refuses to start on an unmigrated database, so nothing can overlap the migration).
  Stop: 3-5 s after SIGTERM (interpreter teardown, not hangs).
- Several DAG folders are served as several ``LocalDagBundle`` entries of
  ``[dag_processor] dag_bundle_config_list``; an import error in one file does not stop the others.
- ``SimpleAuthManager`` reads passwords from ``[core] simple_auth_manager_passwords_file`` and only
  generates the missing ones, so fixed passwords are written there before the start. A user's id
  (what ``assigned_users[*]["id"]`` must contain, and what ``responded_by_user.id`` shows) is the
  user name.
- ``LocalExecutor`` runs on SQLite in 3.3.2 (no configuration check refuses it; three parallel HITL
  runs and a plain run all succeeded), which is what the demo uses; concurrent answers can hit
  "database is locked", so tests use PostgreSQL. Airflow derives ``postgresql+asyncpg`` for its
  async engine; asyncpg is not installed, so psycopg 3's async driver is configured instead.
- HITL race: when a HITL task parks, its task process exits, but its supervisor (a LocalExecutor
  worker) notices only when its ``select()`` times out, after up to ``[workers]
  min_heartbeat_interval`` (default 5 s); only then does the executor event of the parking workload
  reach the scheduler. An answer given before that resumes the task, and the late event makes the
  scheduler fail it ("reported that the task instance ... finished with state success, but the task
  instance's state attribute is queued"). Answering within 50 ms of seeing ``awaiting_input``
  failed 5 of 8 runs with the default interval and 3 of 8 with 1 s (which ``fast=True`` sets).
  :meth:`AirflowClient.wait_until_parked` waits until the task has stayed in ``awaiting_input`` for
  ``settle`` seconds, its HITL detail exists and - for a client from :meth:`AirflowCluster.client` -
  the scheduler log shows that event processed (:meth:`AirflowCluster.parking_reported`): no
  failure in the guarded runs; it returned 1.2-1.7 s after parking with a 1 s interval, up to
  5.5 s with 5 s. A fixed 2 s wait is not enough with Airflow's default interval.
  ``respond(..., wait_parked=True)`` waits that way before answering.
- Stopping: every component runs in its own process group (``start_new_session``); Airflow's task
  supervisors put each task process in a group of its own, and the scheduler and workers do not
  always obey SIGTERM. :meth:`AirflowCluster.stop` therefore tracks the whole process tree, sends
  SIGTERM, then SIGKILL to whatever is left, and checks that no tracked pid survives. A watchdog
  process does the same if the process that started the cluster dies without stopping it (for
  example ``pytest-timeout`` ending the test run with ``os._exit``): measured, nothing left 10 s
  later. (Databases created by the caller are then left behind.)
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

__all__ = [
    "COMPONENTS",
    "DEFAULT_USERS",
    "AirflowClient",
    "AirflowCluster",
    "AirflowClusterError",
    "create_postgres_database",
    "drop_postgres_database",
    "free_port",
    "main",
]

#: The long-running Airflow components started by default, in start order.
COMPONENTS: tuple[str, ...] = ("api-server", "scheduler", "dag-processor", "triggerer")

#: ``SimpleAuthManager`` users (name -> role) used when the caller gives none: one admin, three
#: plain users (approvers in the tests) and one viewer.
DEFAULT_USERS: Mapping[str, str] = {
    "admin": "admin",
    "rita": "user",
    "rachel": "user",
    "olivia": "user",
    "viewer1": "viewer",
}

_ROLES = frozenset({"viewer", "user", "op", "admin"})
_TERMINAL_TASK_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
_TERMINAL_RUN_STATES = frozenset({"success", "failed"})
_ENQUEUED_TI_RE = re.compile(r"ti_id=([0-9a-fA-F-]{32,36})>")
_EXECUTOR_EVENT_RE = re.compile(
    r"Received executor event with state \S+ for task instance (TaskInstanceKey\(.*?\))"
)
_SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
_LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"

# Run by a separate interpreter (stdlib + psutil only): if the process that started the cluster
# dies without stopping it, kill every process of the cluster's trees. argv: parent pid, state file.
_WATCHDOG_SOURCE = r"""
import json, os, signal, sys, time
import psutil

parent, state_file = int(sys.argv[1]), sys.argv[2]
tracked = {}

def track():
    try:
        with open(state_file) as fh:
            pids = json.load(fh)
    except (OSError, ValueError):
        pids = []
    for pid in pids:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            continue
        for proc in procs:
            try:
                tracked.setdefault((proc.pid, proc.create_time()), proc)
            except psutil.Error:
                pass

def alive():
    out = []
    for proc in tracked.values():
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                out.append(proc)
        except psutil.Error:
            pass
    return out

def signal_all(sig):
    for proc in alive():
        try:
            proc.send_signal(sig)
        except psutil.Error:
            pass

while os.getppid() == parent:
    track()
    time.sleep(0.5)
track()
print("parent %d is gone: stopping %d cluster processes" % (parent, len(alive())), flush=True)
signal_all(signal.SIGTERM)
deadline = time.monotonic() + 5
while alive() and time.monotonic() < deadline:
    track()
    time.sleep(0.2)
signal_all(signal.SIGKILL)
"""


class AirflowClusterError(RuntimeError):
    """The cluster failed to start, a component died, or a wait timed out (message has log tails)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def tail(path: str | os.PathLike[str], lines: int = 40) -> str:
    """The last ``lines`` lines of a text file ("" if it does not exist)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 256 * 1024))
            data = fh.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def _async_db_url(db_url: str) -> str | None:
    """Airflow derives ``postgresql+asyncpg`` for its async engine, and asyncpg is not a dependency
    of ours: use psycopg 3's async driver instead. Other backends keep Airflow's choice."""
    scheme, sep, rest = db_url.partition(":")
    if sep and scheme.split("+")[0] in {"postgresql", "postgres"}:
        return f"postgresql+psycopg_async:{rest}"
    return None


def _bundle_name(folder: Path, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", folder.name).strip("-") or "dags"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def _airflow_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("apache-airflow-core")
    except PackageNotFoundError:  # pragma: no cover - older layouts
        return version("apache-airflow")


def create_postgres_database(
    name: str,
    *,
    host: str = "127.0.0.1",
    port: int = 5432,
    user: str = "postgres",
    password: str | None = None,
    python: str | None = None,
    timeout: float = 300.0,
) -> str:
    """Create PostgreSQL database ``name`` holding a freshly migrated Airflow metadata schema, and
    return its SQLAlchemy URL (use with ``AirflowCluster(..., migrate=False)``; drop it with
    :func:`drop_postgres_database`).

    The database is copied (``CREATE DATABASE ... TEMPLATE``) from a template migrated once per
    Airflow version and kept on the server (``aigov_airflow_tpl_<version>``); building it runs
    ``airflow db migrate`` under an advisory lock, so concurrent test runs share one build.
    """
    import psycopg

    _check_database_name(name)
    auth = f"{quote(user, safe='')}:{quote(password, safe='')}@" if password else f"{quote(user, safe='')}@"
    admin = f"host={host} port={port} user={user} dbname=postgres" + (
        f" password={password}" if password else ""
    )
    template = "aigov_airflow_tpl_" + re.sub(r"[^0-9a-z]+", "_", _airflow_version().lower())
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (template,))
        try:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (template,)).fetchone()
            if not exists:
                building = f"{template}_build_{secrets.token_hex(4)}"
                conn.execute(f'CREATE DATABASE "{building}"')
                try:
                    _migrate_standalone(
                        f"postgresql+psycopg://{auth}{host}:{port}/{building}", python, timeout
                    )
                    conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
                except BaseException:
                    conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
                    raise
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (template,))
    return f"postgresql+psycopg://{auth}{host}:{port}/{name}"


def drop_postgres_database(
    name: str,
    *,
    host: str = "127.0.0.1",
    port: int = 5432,
    user: str = "postgres",
    password: str | None = None,
) -> None:
    """Drop database ``name`` (connections still open are terminated)."""
    import psycopg

    _check_database_name(name)
    admin = f"host={host} port={port} user={user} dbname=postgres" + (
        f" password={password}" if password else ""
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _check_database_name(name: str) -> None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
        raise ValueError(f"database name {name!r}: use letters, digits and underscores (max 63)")


def _migrate_standalone(db_url: str, python: str | None, timeout: float) -> None:
    home = tempfile.mkdtemp(prefix="aigov-airflow-migrate-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__") and k != "AIRFLOW_CONFIG"}
    env.update(
        {
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
        }
    )
    if async_url := _async_db_url(db_url):
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = async_url
    try:
        proc = subprocess.Popen(
            [python or sys.executable, "-m", "airflow", "db", "migrate"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            AirflowCluster._kill_group(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise AirflowClusterError(f"`airflow db migrate` did not finish within {timeout:.0f} s") from None
        if proc.returncode != 0:
            text = "\n".join(out.decode("utf-8", "replace").splitlines()[-60:])
            raise AirflowClusterError(
                f"`airflow db migrate` failed with exit code {proc.returncode}:\n{text}"
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)


class AirflowCluster:
    """Airflow 3 components in local processes (testing/demo utility; see the module docstring).

    :param dag_folders: DAG folders, each served as its own ``LocalDagBundle``; a mapping gives the
        bundle names explicitly (``{"name": path}``), a sequence names them after the folders.
    :param db_url: SQLAlchemy URL of Airflow's metadata database (created by the caller; migrated
        at start unless ``migrate=False``). PostgreSQL for tests, SQLite works for a demo.
    :param home: ``AIRFLOW_HOME``; default a new temporary directory, removed by :meth:`stop`
        unless ``keep_home`` is set or the start failed. A given home is never removed.
    :param users: ``SimpleAuthManager`` users, name -> role (``viewer``, ``user``, ``op``, ``admin``).
    :param passwords: fixed passwords per user; users without one get a random password. The
        passwords in force are in :attr:`passwords` after the start.
    :param port: api-server port (default: a free one).
    :param parallelism: ``[core] parallelism`` (= number of LocalExecutor worker processes).
    :param extra_env: extra environment for every component, applied last, so it can override any
        setting made here (e.g. ``AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN``, which defaults to
        SQLite in the home). ``AIRFLOW__*`` variables of the calling process are NOT inherited
        (isolation); pass them here.
    :param fast: short parsing/heartbeat intervals (tests); ``False`` keeps Airflow's defaults.
    :param components: which components to start (default all of :data:`COMPONENTS`).
    :param start_timeout: seconds allowed for ``db migrate`` plus all components to become healthy.
    :param keep_home: keep a temporary ``home`` after :meth:`stop`.
    :param migrate: run ``airflow db migrate`` first; pass False for a database that is already
        migrated (e.g. from :func:`create_postgres_database`, which saves 10-30 s).
    :param python: interpreter that has Airflow installed (default: this one).
    """

    def __init__(
        self,
        *,
        dag_folders: Sequence[str | os.PathLike[str]] | Mapping[str, str | os.PathLike[str]],
        db_url: str,
        home: str | os.PathLike[str] | None = None,
        users: Mapping[str, str] | None = None,
        passwords: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        parallelism: int = 4,
        extra_env: Mapping[str, str] | None = None,
        fast: bool = True,
        components: Sequence[str] = COMPONENTS,
        start_timeout: float = 240.0,
        keep_home: bool = False,
        migrate: bool = True,
        python: str | None = None,
    ) -> None:
        if isinstance(dag_folders, Mapping):
            named = {str(k): Path(v).resolve() for k, v in dag_folders.items()}
        else:
            named = {}
            for folder in dag_folders:
                path = Path(folder).resolve()
                named[_bundle_name(path, set(named))] = path
        if not named:
            raise ValueError("AirflowCluster needs at least one DAG folder")
        for name, path in named.items():
            if not path.is_dir():
                raise ValueError(f"DAG folder {path} (bundle {name!r}) does not exist or is not a directory")
        self.dag_folders: dict[str, Path] = named

        self.users: dict[str, str] = dict(DEFAULT_USERS if users is None else users)
        for user, role in self.users.items():
            if role not in _ROLES:
                raise ValueError(f"user {user!r}: role {role!r} is not one of {sorted(_ROLES)}")
            if not user or any(c in user for c in ",:"):
                raise ValueError(f"user name {user!r} must be non-empty and contain no ',' or ':'")
        if not any(role == "admin" for role in self.users.values()):
            raise ValueError("AirflowCluster needs at least one admin user (the client reads with it)")
        unknown = set(passwords or {}) - set(self.users)
        if unknown:
            raise ValueError(f"passwords given for unknown users {sorted(unknown)}")
        self._fixed_passwords = dict(passwords or {})

        unknown_components = [c for c in components if c not in COMPONENTS]
        if unknown_components or "api-server" not in components:
            raise ValueError(f"components must include 'api-server' and be among {COMPONENTS}")
        if parallelism < 1:
            raise ValueError("parallelism must be >= 1")

        self.db_url = db_url
        self.host = host
        self._requested_port = port
        self.port: int = port or 0
        self.parallelism = parallelism
        self.extra_env: dict[str, str] = dict(extra_env or {})
        self.fast = fast
        self.components: tuple[str, ...] = tuple(c for c in COMPONENTS if c in components)
        self.start_timeout = start_timeout
        self.python = python or sys.executable
        self._given_home = Path(home).resolve() if home is not None else None
        self.keep_home = keep_home
        self.migrate = migrate
        self.home: Path = self._given_home or Path("/nonexistent-airflow-home")

        self.passwords: dict[str, str] = {}
        self.timings: dict[str, float] = {}
        #: Processes (pid, name) still alive after :meth:`stop` (empty when the stop was clean).
        self.leftovers: list[tuple[int, str]] = []
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._tracked: dict[tuple[int, float], Any] = {}
        self._started = False
        self._start_failed = False
        self._lock = threading.Lock()
        self._clients: list[AirflowClient] = []
        self._env: dict[str, str] = {}
        self._log_ports = (0, 0)
        self._scan_offset = 0
        self._queued_counts: dict[str, int] = {}
        self._received_counts: dict[str, int] = {}
        # One secret for JWTs and the API, shared by all components (they all get the same env).
        self._secret = secrets.token_urlsafe(64)  # >= 64 bytes: JWTs are signed with HS512
        self._fernet_key = base64.urlsafe_b64encode(os.urandom(32)).decode()

    # ------------------------------------------------------------------ configuration
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def _state_file(self) -> Path:
        return self.home / "cluster-pids.json"

    @property
    def _passwords_file(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json"

    def log_path(self, component: str) -> Path:
        """Log file of a component (``api-server``, ``scheduler``, ..., ``db-migrate``, ``watchdog``)."""
        return self.logs_dir / f"{component}.log"

    def log_tail(self, component: str, lines: int = 40) -> str:
        return tail(self.log_path(component), lines)

    def diagnostics(self, lines: int = 25) -> str:
        """Tails of all component logs, for error messages."""
        parts = []
        for name in ("db-migrate", *self.components):
            path = self.log_path(name)
            if path.exists():
                parts.append(f"----- {path} (last {lines} lines) -----\n{tail(path, lines)}")
        return "\n".join(parts)

    def airflow_env(self) -> dict[str, str]:
        """The Airflow configuration, as environment variables (before ``extra_env``)."""
        bundles = [
            {"name": name, "classpath": _LOCAL_BUNDLE, "kwargs": {"path": str(path)}}
            for name, path in self.dag_folders.items()
        ]
        users = ",".join(f"{user}:{role}" for user, role in self.users.items())
        secret = self._secret
        env: dict[str, str] = {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(next(iter(self.dag_folders.values()))),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(self.home / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__FERNET_KEY": self._fernet_key,
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__AUTH_MANAGER": _SIMPLE_AUTH_MANAGER,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": users,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self._passwords_file),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.db_url,
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__HOST": self.host,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secret,
            "AIRFLOW__API__EXPOSE_CONFIG": "True",
            "AIRFLOW__API_AUTH__JWT_SECRET": secret,
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.logs_dir),
            # Airflow's 30 s import timeout is too short for a loaded 2-core machine: a DAG file
            # that imports pandas and common-ai was measured at 30-60 s there, and a timed-out
            # import is an import error (the DAG disappears), not a slow parse.
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "180",
            "AIRFLOW__DAG_PROCESSOR__DAG_FILE_PROCESSOR_TIMEOUT": "240",
            # The governance sidecar, explicitly (its documented default, SQLite in AIRFLOW_HOME):
            # without a configured URL the sidecar looks for the connection ai_governance_default
            # through Airflow's metastore, which in the scheduler closes the scheduler's own session.
            "AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'ai_governance.db'}",
            # The scheduler and the triggerer serve task logs on fixed ports (8793/8794) by default:
            # free ones let several clusters (and a demo) run side by side.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self._log_ports[0]),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self._log_ports[1]),
        }
        async_url = _async_db_url(self.db_url)
        if async_url:
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = async_url
        if self.fast:
            env.update(
                {
                    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                    "AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL": "2",
                    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
                    "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "2",
                    "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "0",
                    "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                    "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "2",
                    "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
                    "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
                    # A task supervisor notices its task process has exited only when its select()
                    # times out (up to this many seconds); the executor event, and so the end of the
                    # HITL race window, comes that much later (default 5).
                    "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
                }
            )
        return env

    def _build_env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AIRFLOW__") and k not in {"AIRFLOW_HOME", "AIRFLOW_CONFIG"}
        }
        env.update(self.airflow_env())
        env.update(self.extra_env)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Self:
        """Migrate the database, start the components and wait until all are healthy.

        Raises :class:`AirflowClusterError` (with the tail of the relevant log) if a step fails or
        takes longer than ``start_timeout``; everything started so far is stopped first.
        """
        if self._started:
            raise AirflowClusterError("this AirflowCluster was already started")
        self._started = True
        t0 = time.monotonic()
        deadline = t0 + self.start_timeout
        if not self._requested_port:
            self.port = free_port(self.host)
        elif not _port_is_free(self.host, self._requested_port):
            raise AirflowClusterError(f"port {self._requested_port} on {self.host} is already in use")
        if self._given_home is None:
            self.home = Path(tempfile.mkdtemp(prefix="aigov-airflow-"))
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(exist_ok=True)
        (self.home / "plugins").mkdir(exist_ok=True)
        self._load_or_store_secrets()
        self.passwords = {u: self._fixed_passwords.get(u) or secrets.token_urlsafe(9) for u in self.users}
        self._passwords_file.write_text(json.dumps(self.passwords) + "\n")
        self._log_ports = (free_port(self.host), free_port(self.host))
        self._env = self._build_env()
        try:
            self._start_watchdog()
            if self.migrate:
                self._migrate(deadline)
                self.timings["db_migrate"] = time.monotonic() - t0
            # (Every component refuses to start on an unmigrated database, so nothing overlaps.)
            for name in self.components:
                argv = [self.python, "-m", "airflow", name]
                if name == "api-server":
                    argv += ["--host", self.host, "--port", str(self.port), "--workers", "1"]
                self._spawn(name, argv)
            self._wait_healthy(deadline)
            self.timings["start"] = time.monotonic() - t0
            self._load_passwords()
        except BaseException:
            self._start_failed = True
            with contextlib.suppress(Exception):
                self.stop()
            raise
        return self

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop(raise_on_leftovers=exc is None)

    def _load_or_store_secrets(self) -> None:
        """Keep the Fernet key and the JWT/API secret in the home, so that a home reused across
        starts (``make airflow`` with ``AIRFLOW_DEMO_HOME``) can still decrypt what it stored."""
        path = self.home / "cluster-secrets.json"
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            stored = json.loads(path.read_text())
            self._secret, self._fernet_key = str(stored["secret"]), str(stored["fernet_key"])
            return
        path.write_text(json.dumps({"secret": self._secret, "fernet_key": self._fernet_key}))
        path.chmod(0o600)

    def _write_state(self) -> None:
        pids = [p.pid for p in self._procs.values()]
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(pids))
        os.replace(tmp, self._state_file)

    def _start_watchdog(self) -> None:
        self._write_state()
        with open(self.log_path("watchdog"), "ab") as log:
            self._watchdog = subprocess.Popen(
                [self.python, "-c", _WATCHDOG_SOURCE, str(os.getpid()), str(self._state_file)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=self._env,
            )

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        with open(self.log_path(name), "ab") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.home,
                env=self._env,
            )
        with self._lock:
            self._procs[name] = proc
        self._write_state()
        return proc

    def _migrate(self, deadline: float) -> None:
        proc = self._spawn("db-migrate", [self.python, "-m", "airflow", "db", "migrate"])
        try:
            rc = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self._kill_group(proc.pid, signal.SIGKILL)
            proc.wait(10)
            raise AirflowClusterError(
                f"`airflow db migrate` did not finish within the start timeout ({self.start_timeout:.0f} s)"
                f"\n{self.log_tail('db-migrate')}"
            ) from None
        finally:
            with self._lock:
                self._procs.pop("db-migrate", None)
            self._write_state()
        if rc != 0:
            raise AirflowClusterError(
                f"`airflow db migrate` failed with exit code {rc} (db {self._masked_db_url()}); "
                f"log {self.log_path('db-migrate')}:\n{self.log_tail('db-migrate', 60)}"
            )

    def _masked_db_url(self) -> str:
        return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", self.db_url)

    def health(self) -> dict[str, Any]:
        """``GET /api/v2/monitor/health`` (no authentication needed)."""
        resp = httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=5.0)
        resp.raise_for_status()
        data: dict[str, Any] = resp.json()
        return data

    def _unhealthy(self, health: Mapping[str, Any]) -> list[str]:
        keys = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}
        bad = [] if health.get("metadatabase", {}).get("status") == "healthy" else ["metadatabase"]
        for component in self.components:
            key = keys.get(component)
            if key and (health.get(key) or {}).get("status") != "healthy":
                bad.append(component)
        return bad

    def _check_alive(self) -> None:
        for name, proc in list(self._procs.items()):
            rc = proc.poll()
            if rc is not None:
                raise AirflowClusterError(
                    f"Airflow {name} exited with code {rc}; log {self.log_path(name)}:\n{self.log_tail(name, 60)}"
                )

    def _wait_healthy(self, deadline: float) -> None:
        last: Any = "api-server not answering yet"
        while True:
            self._check_alive()
            try:
                health = self.health()
                bad = self._unhealthy(health)
                if not bad:
                    return
                last = f"unhealthy: {bad} ({health})"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise AirflowClusterError(
                    f"Airflow did not become healthy within {self.start_timeout:.0f} s ({last})\n"
                    + self.diagnostics(40)
                )
            time.sleep(0.5)

    def _load_passwords(self) -> None:
        # SimpleAuthManager adds passwords for users missing from the file; keep ours otherwise.
        with contextlib.suppress(OSError, ValueError):
            stored = json.loads(self._passwords_file.read_text())
            if isinstance(stored, dict):
                self.passwords.update({str(k): str(v) for k, v in stored.items() if k in self.users})

    def running(self) -> dict[str, bool]:
        """Whether each started component is still running."""
        return {name: proc.poll() is None for name, proc in self._procs.items()}

    def check(self) -> None:
        """Raise :class:`AirflowClusterError` (with its log tail) if a component has exited."""
        self._check_alive()

    # ------------------------------------------------------------------ stopping
    @staticmethod
    def _kill_group(pid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)

    def _track(self) -> None:
        import psutil

        for proc in list(self._procs.values()):
            try:
                root = psutil.Process(proc.pid)
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    self._tracked.setdefault((p.pid, p.create_time()), p)

    def _alive_tracked(self) -> list[Any]:
        import psutil

        out = []
        for p in self._tracked.values():
            with contextlib.suppress(psutil.Error):
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    out.append(p)
        return out

    def stop(self, timeout: float = 5.0, *, raise_on_leftovers: bool = False) -> list[tuple[int, str]]:
        """Stop every process of the cluster: SIGTERM, then after ``timeout`` s SIGKILL.

        Returns (and stores in :attr:`leftovers`) the processes that survived even SIGKILL (none
        expected); with ``raise_on_leftovers`` they raise :class:`AirflowClusterError`. Idempotent.
        """
        import psutil

        for client in self._clients:
            client.close()
        self._clients.clear()
        self._track()
        for proc in self._procs.values():
            self._kill_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._track()
            if not self._alive_tracked():
                break
            time.sleep(0.2)
        for proc in self._procs.values():
            self._kill_group(proc.pid, signal.SIGKILL)
        for p in self._alive_tracked():
            with contextlib.suppress(psutil.Error):
                p.kill()
        for proc in self._procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        time.sleep(0.2)
        leftovers: list[tuple[int, str]] = []
        for p in self._alive_tracked():
            with contextlib.suppress(psutil.Error):
                leftovers.append((p.pid, " ".join(p.cmdline())[:200]))
        self.leftovers = leftovers
        if self._watchdog is not None:
            self._kill_group(self._watchdog.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._watchdog.wait(5)
            self._watchdog = None
        self._procs.clear()
        if (
            self._given_home is None
            and not self.keep_home
            and not self._start_failed
            and not leftovers
            and self.home.exists()
        ):
            shutil.rmtree(self.home, ignore_errors=True)
        if leftovers and raise_on_leftovers:
            raise AirflowClusterError(f"processes survived SIGKILL: {leftovers}")
        return leftovers

    # ------------------------------------------------------------------ HITL race guard
    def parking_reported(self, ti: Mapping[str, Any]) -> bool | None:
        """Whether the scheduler has processed the executor event of every workload it queued for
        this task instance try (read from the scheduler log); None if the log does not tell.

        A task parked in ``awaiting_input`` is safe to answer only once this is True: an answer
        given before can get the task failed (see the module docstring).
        """
        try:
            ti_id, try_number = str(ti["id"]), int(ti["try_number"])
            key = (
                f"TaskInstanceKey(dag_id={ti['dag_id']!r}, task_id={ti['task_id']!r}, "
                f"run_id={ti['dag_run_id']!r}, try_number={try_number}, map_index={int(ti['map_index'])})"
            )
        except (KeyError, TypeError, ValueError):
            return None
        with self._lock:
            self._scan_scheduler_log()
            queued = self._queued_counts.get(ti_id, 0)
            received = self._received_counts.get(key, 0)
        if queued == 0:
            return None  # log format changed or log rotated: the caller falls back to waiting
        return received >= queued

    def _scan_scheduler_log(self) -> None:
        """Count, incrementally, the scheduler's "Trying to enqueue tasks" mentions per TI id and its
        "Received executor event" lines per TaskInstanceKey."""
        try:
            with open(self.log_path("scheduler"), "rb") as fh:
                fh.seek(self._scan_offset)
                data = fh.read()
        except OSError:
            return
        end = data.rfind(b"\n") + 1  # complete lines only
        self._scan_offset += end
        for raw in data[:end].splitlines():
            line = raw.decode("utf-8", "replace")
            if "Trying to enqueue tasks" in line:
                for ti_id in _ENQUEUED_TI_RE.findall(line):
                    self._queued_counts[ti_id] = self._queued_counts.get(ti_id, 0) + 1
            elif "Received executor event" in line:
                match = _EXECUTOR_EVENT_RE.search(line)
                if match:
                    self._received_counts[match[1]] = self._received_counts.get(match[1], 0) + 1

    # ------------------------------------------------------------------ client
    def client(self, *, timeout: float = 30.0) -> AirflowClient:
        """A REST client logged in with this cluster's users (closed by :meth:`stop`)."""
        if not self.passwords:
            raise AirflowClusterError("start the cluster before asking for a client")
        admin = next(u for u, r in self.users.items() if r == "admin")
        client = AirflowClient(
            self.base_url,
            self.passwords,
            default_user=admin,
            timeout=timeout,
            diagnostics=self.diagnostics,
            parked_check=self.parking_reported,
            liveness=self.check,
        )
        self._clients.append(client)
        return client


def _q(segment: str | int) -> str:
    return quote(str(segment), safe="")


class AirflowClient:
    """REST client for an Airflow 3 api-server (testing/demo utility).

    Reads use ``default_user`` (an admin); calls that act for a person take ``user``. Tokens come
    from ``POST /auth/token`` and are cached per user. Every wait is bounded; its error carries the
    task log tail and, if ``diagnostics`` is given, the component log tails. ``liveness`` (raising
    when a component died) is called on every poll, ``parked_check`` refines
    :meth:`wait_until_parked`; :meth:`AirflowCluster.client` wires all three.
    """

    def __init__(
        self,
        base_url: str,
        passwords: Mapping[str, str],
        *,
        default_user: str = "admin",
        timeout: float = 30.0,
        diagnostics: Callable[[], str] | None = None,
        parked_check: Callable[[Mapping[str, Any]], bool | None] | None = None,
        liveness: Callable[[], None] | None = None,
        poll_interval: float = 0.25,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.passwords = passwords
        self.default_user = default_user
        self.poll_interval = poll_interval
        self._diagnostics = diagnostics
        self._parked_check = parked_check
        self._liveness = liveness
        self._tokens: dict[str, str] = {}
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing
    def token(self, user: str) -> str:
        """A JWT for ``user`` (``POST /auth/token``), cached."""
        if user not in self._tokens:
            if user not in self.passwords:
                raise KeyError(f"no password known for user {user!r} (known: {sorted(self.passwords)})")
            resp = self._http.post("/auth/token", json={"username": user, "password": self.passwords[user]})
            if resp.status_code not in (200, 201):
                raise AirflowClusterError(f"login of {user!r} failed: {resp.status_code} {resp.text[:500]}")
            self._tokens[user] = str(resp.json()["access_token"])
        return self._tokens[user]

    def request(
        self,
        method: str,
        path: str,
        *,
        user: str | None = None,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """An authenticated request as ``user`` (default: the admin); the response is returned as is."""
        who = user or self.default_user
        for attempt in range(2):
            hdrs = {"Authorization": f"Bearer {self.token(who)}", **(headers or {})}
            resp = self._http.request(method, path, json=json, params=params, headers=hdrs)
            if resp.status_code == 401 and attempt == 0:
                self._tokens.pop(who, None)  # expired or the cluster restarted: log in again
                continue
            return resp
        return resp

    def api(self, method: str, path: str, *, user: str | None = None, **kwargs: Any) -> Any:
        """Like :meth:`request` on ``/api/v2`` + ``path``; raises on a non-2xx answer, returns JSON."""
        resp = self.request(method, f"/api/v2{path}", user=user, **kwargs)
        if resp.status_code >= 300:
            raise AirflowClusterError(
                f"{method} /api/v2{path} as {user or self.default_user} -> {resp.status_code}: {resp.text[:1000]}"
            )
        return resp.json() if resp.content else None

    def _ti_path(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
        path = f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}"
        return path if map_index == -1 else f"{path}/{map_index}"

    def _hitl_path(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
        return f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}/{map_index}/hitlDetails"

    def _fail(self, message: str, *, ti: tuple[str, str, str, int] | None = None) -> AirflowClusterError:
        parts = [message]
        if ti is not None:
            with contextlib.suppress(Exception):
                dag_id, run_id, task_id, map_index = ti
                parts.append(
                    f"----- task log {dag_id}/{run_id}/{task_id} (tail) -----\n"
                    + "\n".join(
                        self.task_logs(dag_id, run_id, task_id, map_index=map_index).splitlines()[-40:]
                    )
                )
        if self._diagnostics is not None:
            with contextlib.suppress(Exception):
                parts.append(self._diagnostics())
        return AirflowClusterError("\n".join(parts))

    def _deadline_iter(self, timeout: float, interval: float) -> Iterator[float]:
        """Bounded polling; fails fast (with the log tail) if a component of the cluster died."""
        deadline = time.monotonic() + timeout
        while True:
            if self._liveness is not None:
                self._liveness()
            now = time.monotonic()
            yield now
            if now >= deadline:
                return
            time.sleep(min(interval, max(0.0, deadline - now)))

    # ------------------------------------------------------------------ DAGs
    def health(self) -> dict[str, Any]:
        data: dict[str, Any] = self.api("GET", "/monitor/health")
        return data

    def import_errors(self) -> list[dict[str, Any]]:
        """Current DAG import errors (``filename``, ``bundle_name``, ``stack_trace``, ...)."""
        data = self.api("GET", "/importErrors", params={"limit": 1000})
        errors: list[dict[str, Any]] = data["import_errors"]
        return errors

    def dag(self, dag_id: str) -> dict[str, Any] | None:
        resp = self.request("GET", f"/api/v2/dags/{_q(dag_id)}")
        if resp.status_code == 404:
            return None
        if resp.status_code >= 300:
            raise AirflowClusterError(f"GET dag {dag_id} -> {resp.status_code}: {resp.text[:500]}")
        data: dict[str, Any] = resp.json()
        return data

    def wait_for_dag(self, dag_id: str, timeout: float = 90.0) -> dict[str, Any]:
        """Wait until the dag-processor has registered ``dag_id``; returns the DAG. On timeout the
        error lists the import errors."""
        for _ in self._deadline_iter(timeout, 0.5):
            dag = self.dag(dag_id)
            if dag is not None and not dag.get("is_stale", False):
                return dag
        errors = self.import_errors()
        listing = "\n".join(f"{e.get('filename')}:\n{e.get('stack_trace', '')[-1500:]}" for e in errors)
        raise self._fail(
            f"DAG {dag_id!r} not registered within {timeout:.0f} s; import errors:\n{listing or '(none)'}"
        )

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/dags/{_q(dag_id)}", json={"is_paused": False})

    def pause(self, dag_id: str) -> None:
        self.api("PATCH", f"/dags/{_q(dag_id)}", json={"is_paused": True})

    # ------------------------------------------------------------------ runs and tasks
    def trigger(
        self,
        dag_id: str,
        conf: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        user: str | None = None,
    ) -> str:
        """Trigger a manual run; returns its run id."""
        body: dict[str, Any] = {"logical_date": None, "conf": dict(conf or {})}
        if run_id is not None:
            body["dag_run_id"] = run_id
        data = self.api("POST", f"/dags/{_q(dag_id)}/dagRuns", json=body, user=user)
        return str(data["dag_run_id"])

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self.api("GET", f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}")
        return data

    def task_instance(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1
    ) -> dict[str, Any] | None:
        resp = self.request("GET", "/api/v2" + self._ti_path(dag_id, run_id, task_id, map_index))
        if resp.status_code == 404:
            return None
        if resp.status_code >= 300:
            raise AirflowClusterError(f"GET task instance -> {resp.status_code}: {resp.text[:500]}")
        data: dict[str, Any] = resp.json()
        return data

    def task_state(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str | None:
        ti = self.task_instance(dag_id, run_id, task_id, map_index)
        return None if ti is None else ti.get("state")

    def wait_for_task_state(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        states: str | Iterable[str],
        *,
        map_index: int = -1,
        timeout: float = 60.0,
    ) -> str:
        """Wait until the task is in one of ``states``; fails early if it ends in another state."""
        wanted = {states} if isinstance(states, str) else set(states)
        state: str | None = None
        for _ in self._deadline_iter(timeout, self.poll_interval):
            state = self.task_state(dag_id, run_id, task_id, map_index)
            if state in wanted:
                return state
            if state in _TERMINAL_TASK_STATES:
                raise self._fail(
                    f"task {dag_id}.{task_id} ({run_id}) ended {state!r}, expected {sorted(wanted)}",
                    ti=(dag_id, run_id, task_id, map_index),
                )
        raise self._fail(
            f"task {dag_id}.{task_id} ({run_id}) not in {sorted(wanted)} after {timeout:.0f} s (last: {state!r})",
            ti=(dag_id, run_id, task_id, map_index),
        )

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """``{task_id (or task_id[map_index]): state}`` of a run."""
        data = self.api(
            "GET", f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances", params={"limit": 1000}
        )
        out: dict[str, str | None] = {}
        for ti in data["task_instances"]:
            key = ti["task_id"] if ti.get("map_index", -1) == -1 else f"{ti['task_id']}[{ti['map_index']}]"
            out[key] = ti.get("state")
        return out

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 120.0) -> str:
        """Wait until the run is finished; returns ``success`` or ``failed``."""
        state: str | None = None
        for _ in self._deadline_iter(timeout, 0.5):
            state = self.dag_run(dag_id, run_id).get("state")
            if state in _TERMINAL_RUN_STATES:
                return str(state)
        tis: Any = "?"
        with contextlib.suppress(Exception):
            tis = self.task_instances(dag_id, run_id)
        raise self._fail(
            f"run {dag_id}/{run_id} not finished after {timeout:.0f} s (state {state!r}, tasks {tis})"
        )

    # ------------------------------------------------------------------ Human-in-the-loop
    def hitl_detail_response(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1, *, user: str | None = None
    ) -> httpx.Response:
        return self.request("GET", self._hitl_path(dag_id, run_id, task_id, map_index), user=user)

    def hitl_detail(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1, *, user: str | None = None
    ) -> dict[str, Any] | None:
        """The task's HITL detail (``GET .../hitlDetails``), or None if it has none yet."""
        resp = self.hitl_detail_response(dag_id, run_id, task_id, map_index, user=user)
        if resp.status_code == 404:
            return None
        if resp.status_code >= 300:
            raise AirflowClusterError(f"GET hitlDetails -> {resp.status_code}: {resp.text[:500]}")
        data: dict[str, Any] = resp.json()
        return data

    def wait_until_parked(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        *,
        map_index: int = -1,
        settle: float | None = None,
        timeout: float = 90.0,
    ) -> dict[str, Any]:
        """Wait until the task is safely parked in ``awaiting_input``; returns its HITL detail.

        Safely parked: in ``awaiting_input`` for ``settle`` seconds without a break, its HITL detail
        exists, and (when the client comes from :meth:`AirflowCluster.client`) the scheduler log shows
        that the executor event of the parking workload has been processed. ``settle`` defaults to
        1 s with that log check and to 7 s without it (the unguarded window measured with default
        settings is about 5 s; see the module docstring).
        """
        if settle is None:
            settle = 1.0 if self._parked_check is not None else 7.0
        since: float | None = None
        state: str | None = None
        reported: bool | None = None
        for now in self._deadline_iter(timeout, self.poll_interval):
            ti = self.task_instance(dag_id, run_id, task_id, map_index)
            state = None if ti is None else ti.get("state")
            if ti is not None and state == "awaiting_input":
                since = now if since is None else since
                if now - since >= settle:
                    reported = self._parked_check(ti) if self._parked_check is not None else None
                    if reported is not False:
                        detail = self.hitl_detail(dag_id, run_id, task_id, map_index)
                        if detail is not None:
                            return detail
            else:
                since = None
                if state in _TERMINAL_TASK_STATES:
                    raise self._fail(
                        f"task {dag_id}.{task_id} ({run_id}) ended {state!r} instead of waiting for input",
                        ti=(dag_id, run_id, task_id, map_index),
                    )
        raise self._fail(
            f"task {dag_id}.{task_id} ({run_id}) not safely parked in awaiting_input within {timeout:.0f} s "
            f"(last state {state!r}, settle {settle} s, parking workload reported: {reported})",
            ti=(dag_id, run_id, task_id, map_index),
        )

    def respond(
        self,
        user: str,
        dag_id: str,
        run_id: str,
        task_id: str,
        chosen_options: Sequence[str],
        params_input: Mapping[str, Any] | None = None,
        map_index: int = -1,
        *,
        wait_parked: bool = False,
        settle: float | None = None,
    ) -> httpx.Response:
        """Answer a HITL task as ``user`` (``PATCH .../hitlDetails``); returns the raw response
        (200 accepted, 403 not allowed, 409 already answered, 400 invalid option, ...).

        With ``wait_parked``, first :meth:`wait_until_parked` (with ``settle``): use it whenever the
        answer may come right after the task parked.
        """
        if wait_parked:
            self.wait_until_parked(dag_id, run_id, task_id, map_index=map_index, settle=settle)
        body = {"chosen_options": list(chosen_options), "params_input": dict(params_input or {})}
        return self.request(
            "PATCH", self._hitl_path(dag_id, run_id, task_id, map_index), user=user, json=body
        )

    def pending_hitl(
        self, *, user: str | None = None, dag_id: str = "~", run_id: str = "~"
    ) -> list[dict[str, Any]]:
        """HITL details still waiting for an answer (as ``user``; default the admin)."""
        data = self.api(
            "GET",
            f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/hitlDetails",
            user=user,
            params={"response_received": "false", "limit": 1000},
        )
        details: list[dict[str, Any]] = data["hitl_details"]
        return details

    # ------------------------------------------------------------------ audit and logs
    def event_log(
        self,
        *,
        dag_id: str | None = None,
        run_id: str | None = None,
        task_id: str | None = None,
        event: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Airflow's event log (newest first), filtered."""
        params: dict[str, Any] = {"limit": limit, "order_by": "-when"}
        for key, value in (("dag_id", dag_id), ("run_id", run_id), ("task_id", task_id), ("event", event)):
            if value is not None:
                params[key] = value
        data = self.api("GET", "/eventLogs", params=params)
        logs: list[dict[str, Any]] = data["event_logs"]
        return logs

    def task_logs(
        self, dag_id: str, run_id: str, task_id: str, try_number: int | None = None, *, map_index: int = -1
    ) -> str:
        """The task's log for ``try_number`` (default: its latest try) as text."""
        if try_number is None:
            ti = self.task_instance(dag_id, run_id, task_id, map_index)
            try_number = int((ti or {}).get("try_number") or 1) or 1
        path = f"/api/v2{self._ti_path(dag_id, run_id, task_id)}/logs/{try_number}"
        resp = self.request(
            "GET",
            path,
            params={"full_content": "true", "map_index": map_index},
            headers={"Accept": "application/json"},
        )
        if resp.status_code >= 300:
            return f"(no log: {resp.status_code} {resp.text[:300]})"
        content = resp.json().get("content", [])
        lines = []
        for item in content if isinstance(content, list) else [content]:
            if isinstance(item, dict):
                extra = {k: v for k, v in item.items() if k not in {"timestamp", "level", "event", "logger"}}
                line = f"{item.get('timestamp', '')} {item.get('level', '')} {item.get('event', '')}"
                lines.append(f"{line} {extra}" if extra else line)
            else:
                lines.append(str(item))
        return "\n".join(lines)


# ---------------------------------------------------------------------- command line (make airflow)
def _parse_users(spec: str) -> dict[str, str]:
    users = {}
    for item in spec.split(","):
        name, _, role = item.strip().partition(":")
        users[name.strip()] = role.strip() or "user"
    return users


def main(argv: Sequence[str] | None = None) -> int:
    """Start a cluster for a person to click through; Ctrl-C stops it."""
    parser = argparse.ArgumentParser(
        prog="python -m airflow_ai_governance.testing.airflow_cluster",
        description="Start Airflow 3 (api-server, scheduler, dag-processor, triggerer) for a demo.",
    )
    parser.add_argument("--dags", action="append", help="DAG folder (repeatable; default: ./dags)")
    db = parser.add_mutually_exclusive_group()
    db.add_argument("--sqlite", action="store_true", help="metadata DB on SQLite in AIRFLOW_HOME (default)")
    db.add_argument("--db-url", help="metadata DB URL (an empty database)")
    parser.add_argument("--home", help="AIRFLOW_HOME (default: a new temporary directory, removed at exit)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="api-server port (default 8080 if free)")
    parser.add_argument("--parallelism", type=int, default=4)
    parser.add_argument("--users", default=",".join(f"{u}:{r}" for u, r in DEFAULT_USERS.items()))
    parser.add_argument(
        "--random-passwords", action="store_true", help="random passwords (default: password = user name)"
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="extra env (repeatable)"
    )
    parser.add_argument("--keep-home", action="store_true", help="keep a temporary AIRFLOW_HOME at exit")
    parser.add_argument(
        "--start-timeout",
        type=float,
        default=900.0,
        help="seconds to wait for Airflow to become healthy (default 900: a loaded machine is slow)",
    )
    args = parser.parse_args(argv)

    users = _parse_users(args.users)
    passwords = None if args.random_passwords else {u: u for u in users}
    home = Path(args.home).resolve() if args.home else Path(tempfile.mkdtemp(prefix="aigov-airflow-demo-"))
    db_url = args.db_url or f"sqlite:///{home / 'airflow.db'}"
    port = args.port or (8080 if _port_is_free(args.host, 8080) else 0)
    # The governance sidecar's settings are forwarded (the cluster does not inherit AIRFLOW__*).
    extra_env = {k: v for k, v in os.environ.items() if k.startswith("AIRFLOW__AI_GOVERNANCE__")}
    extra_env.setdefault("AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'ai_governance.db'}")
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--env expects KEY=VALUE, got {item!r}")
        extra_env[key] = value

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    cluster = AirflowCluster(
        dag_folders=args.dags or ["dags"],
        db_url=db_url,
        home=home,
        users=users,
        passwords=passwords,
        host=args.host,
        port=port or None,
        parallelism=args.parallelism,
        extra_env=extra_env,
        fast=True,  # new DAG files show up within seconds, and the HITL race window shrinks
        start_timeout=args.start_timeout,
    )
    print(
        f"Starting Airflow in {home} (logs in {home / 'logs'}) on {cluster._masked_db_url()} ...", flush=True
    )
    try:
        cluster.start()
        print(f"\nAirflow is up at {cluster.base_url}  (started in {cluster.timings['start']:.1f} s)")
        print(f"DAG folders: {', '.join(f'{n}={p}' for n, p in cluster.dag_folders.items())}")
        print(f"Governance sidecar: {extra_env['AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN']}")
        print(f"Pending approvals: {cluster.base_url}/required_actions  (log in as an assigned reviewer)")
        print(f"\n  {'login':<12}{'password':<16}role")
        for user, role in cluster.users.items():
            print(f"  {user:<12}{cluster.passwords[user]:<16}{role}")
        print("\nPress Ctrl-C to stop everything.", flush=True)
        while True:
            cluster.check()
            time.sleep(2)
    except KeyboardInterrupt:
        print("\nStopping Airflow ...", flush=True)
        return 0
    except AirflowClusterError as exc:
        print(f"\nERROR: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not abort the cleanup
        leftovers = cluster.stop()
        if leftovers:
            print(f"WARNING: processes survived SIGKILL: {leftovers}", file=sys.stderr)
        else:
            print("Airflow stopped (no process left).", flush=True)
        if not args.home and not args.keep_home:
            shutil.rmtree(home, ignore_errors=True)
        elif args.keep_home:
            print(f"AIRFLOW_HOME kept: {home}")


if __name__ == "__main__":
    sys.exit(main())
