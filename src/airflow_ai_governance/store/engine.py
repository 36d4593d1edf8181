"""Where the sidecar lives and how to talk to it: URL resolution, engines, sessions, errors.

URL resolution order (first hit wins), see :func:`resolve_url`:

1. an explicit URL (``aigov --db-url``, a function argument);
2. ``AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN``;
3. ``[ai_governance] sql_alchemy_conn`` of the Airflow configuration (``airflow.configuration.conf``
   when Airflow is already imported, else ``$AIRFLOW_CONFIG`` / ``$AIRFLOW_HOME/airflow.cfg`` read
   with :mod:`configparser`, so the CLI does not pay for importing Airflow);
4. the Airflow connection ``ai_governance_default`` (``AIRFLOW_CONN_AI_GOVERNANCE_DEFAULT`` as URI or
   JSON; when Airflow is imported, also ``BaseHook.get_connection``: secrets backends, metastore,
   or the task supervisor);
5. ``sqlite:///$AIRFLOW_HOME/ai_governance.db`` (``AIRFLOW_HOME`` defaults to ``~/airflow``).

Every database error that means "the sidecar cannot serve us" (unreachable server, missing file,
tables not migrated, pool exhausted) is raised as :class:`SidecarUnavailable` with the URL masked.
"""

from __future__ import annotations

import configparser
import json
import logging
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.orm import Session

from airflow_ai_governance.exceptions import SidecarUnavailable
from airflow_ai_governance.store.migrations import HEAD_REVISION, KNOWN_REVISIONS, VERSION_TABLE

log = logging.getLogger(__name__)

#: PostgreSQL schema that holds every sidecar table (and the Alembic version table).
SCHEMA = "ai_governance"
CONN_ID = "ai_governance_default"
ENV_URL = "AIRFLOW__AI_GOVERNANCE__SQL_ALCHEMY_CONN"
ENV_CONN = "AIRFLOW_CONN_AI_GOVERNANCE_DEFAULT"

#: A session, an engine, a URL, or ``None`` (resolve the URL): what every store function accepts.
DB = Session | Engine | str | None

_SQLITE_BUSY_TIMEOUT_MS = 30_000
_PG_CONNECT_TIMEOUT_S = 10
_LIBPQ_EXTRAS = frozenset(
    {"sslmode", "sslcert", "sslkey", "sslrootcert", "sslcrl", "application_name", "connect_timeout"}
    | {"options", "target_session_attrs", "keepalives", "keepalives_idle"}
)
# Execution option read by the SQLite ``begin`` hook: read-only work may share the database.
_READONLY = "aigov_readonly"
_HINT = (
    "Check [ai_governance] sql_alchemy_conn or the connection ai_governance_default; "
    "run `aigov db upgrade` for a new database."
)

_URL_ENV_VARS = (ENV_URL, ENV_CONN, "AIRFLOW_HOME", "AIRFLOW_CONFIG")
_engines: dict[str, Engine] = {}  # resolved URL -> engine
_resolved: dict[str, str] = {}  # get_engine() argument (or deciding environment) -> resolved URL
_ready: set[str] = set()  # URLs whose schema was checked
_lock = threading.Lock()


# --------------------------------------------------------------------------------------- URLs
def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME") or "~/airflow").expanduser()


def resolve_url(explicit: str | None = None) -> str:
    """Return the sidecar's SQLAlchemy URL (order in the module docstring), driver normalized."""
    url = (
        explicit
        or os.environ.get(ENV_URL)
        or _url_from_airflow_config()
        or _url_from_connection()
        or f"sqlite:///{airflow_home() / 'ai_governance.db'}"
    )
    return _normalize(url)


def mask_url(url: str | URL) -> str:
    """The URL with its password replaced by ``***`` (safe for logs and error messages)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "<unparseable URL>"


def sqlite_path(url: str | URL) -> Path | None:
    """The database file of a SQLite URL (``None`` for other backends and in-memory databases)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _normalize(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _url_from_airflow_config() -> str | None:
    if "airflow" in sys.modules:
        try:
            from airflow.configuration import conf
        except ImportError:  # a Task-SDK-only worker: fall back to reading the file
            pass
        else:
            value = conf.get("ai_governance", "sql_alchemy_conn", fallback=None)
            return str(value) if value else None
    path = Path(os.environ.get("AIRFLOW_CONFIG") or airflow_home() / "airflow.cfg").expanduser()
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path, encoding="utf-8")
    return parser.get("ai_governance", "sql_alchemy_conn", fallback=None) or None


def _url_from_connection() -> str | None:
    raw = os.environ.get(ENV_CONN)
    if raw:
        return _connection_env_to_url(raw)
    if "airflow" not in sys.modules:
        return None
    conn = _task_connection() if _in_task_process() else _secrets_backend_connection()
    if conn is None:
        return None
    return connection_to_url(
        conn.conn_type, conn.host, conn.login, conn.password, conn.port, conn.schema, conn.extra_dejson
    )


def _task_connection() -> Any:
    """In a task: the Task SDK's lookup (secrets backends, then the API server)."""
    try:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError:
        from airflow.exceptions import AirflowNotFoundException
        from airflow.hooks.base import BaseHook
    try:
        return BaseHook.get_connection(CONN_ID)
    except AirflowNotFoundException:
        return None


def _secrets_backend_connection() -> Any:
    """Outside a task (scheduler, API server, DAG processor, CLI): the configured secrets backends,
    but not the metastore: that lookup would share the component's own ORM session and can close
    it under its feet (seen: the scheduler dying on the next DAG run)."""
    try:
        from airflow.configuration import ensure_secrets_loaded
    except ImportError:
        return None
    for backend in ensure_secrets_loaded():
        if type(backend).__name__ == "MetastoreBackend":
            continue
        try:
            conn = backend.get_connection(conn_id=CONN_ID)
        except Exception:  # a backend that cannot answer: try the next, as Airflow does
            log.debug("secrets backend %s could not look up %s", type(backend).__name__, CONN_ID)
            continue
        if conn is not None:
            return conn
    return None


def _in_task_process() -> bool:
    """Whether this process runs a task (the task SDK's supervisor channel is set up)."""
    runner = sys.modules.get("airflow.sdk.execution_time.task_runner")
    return runner is not None and getattr(runner, "SUPERVISOR_COMMS", None) is not None


def _connection_env_to_url(raw: str) -> str:
    """``AIRFLOW_CONN_...`` as Airflow accepts it: a JSON object or a URI."""
    if raw.lstrip().startswith("{"):
        data = json.loads(raw)
        extra_field = data.get("extra") or {}
        return connection_to_url(
            data.get("conn_type", ""),
            data.get("host"),
            data.get("login"),
            data.get("password"),
            data.get("port"),
            data.get("schema"),
            json.loads(extra_field) if isinstance(extra_field, str) else extra_field,
        )
    parts = urlsplit(raw)
    scheme = parts.scheme.replace("-", "_")
    if scheme == "sqlite":  # host is the (URL-quoted) path, or the path is the path
        path = unquote(parts.netloc) if parts.netloc else "/" + unquote(parts.path).lstrip("/")
        return connection_to_url("sqlite", path, None, None, None, None, {})
    query = dict(parse_qsl(parts.query))
    extra: dict[str, Any] = json.loads(query.pop("__extra__")) if "__extra__" in query else query
    return connection_to_url(
        scheme,
        unquote(parts.hostname or ""),
        unquote(parts.username or ""),
        unquote(parts.password or ""),
        parts.port,
        unquote(parts.path[1:]),
        extra,
    )


def connection_to_url(
    conn_type: str,
    host: str | None,
    login: str | None,
    password: str | None,
    port: int | None,
    schema: str | None,
    extra: Mapping[str, Any],
) -> str:
    """Build a SQLAlchemy URL from Airflow connection fields (``Connection.get_uri()`` is not one).

    ``postgres``/``postgresql`` become ``postgresql+psycopg`` (libpq options from ``extra`` are kept);
    ``sqlite`` takes the database path from ``host`` (or ``schema``).
    """
    kind = (conn_type or "").lower().replace("-", "_")
    if kind in ("postgres", "postgresql"):
        query = {k: str(v) for k, v in extra.items() if k in _LIBPQ_EXTRAS}
        return URL.create(
            "postgresql+psycopg",
            username=login or None,
            password=password or None,
            host=host or None,
            port=int(port) if port else None,
            database=schema or None,
            query=query,
        ).render_as_string(hide_password=False)
    if kind == "sqlite":
        path = host or schema
        if not path:
            raise SidecarUnavailable(f"The connection {CONN_ID} (sqlite) has no database path in host.")
        return f"sqlite:///{Path(path).expanduser()}"
    raise SidecarUnavailable(
        f"The connection {CONN_ID} has conn_type {conn_type!r}; the AI governance sidecar supports "
        "postgres and sqlite. Fix the connection or set [ai_governance] sql_alchemy_conn."
    )


# ------------------------------------------------------------------------------------ engines
def create_engine(url: str) -> Engine:
    """A new (uncached) engine configured for the sidecar; prefer :func:`get_engine`."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = sa.create_engine(parsed)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if backend != "postgresql":
        raise SidecarUnavailable(
            f"The AI governance sidecar runs on PostgreSQL or SQLite, not {backend} ({mask_url(parsed)}). "
            "Fix [ai_governance] sql_alchemy_conn or the connection ai_governance_default."
        )
    defaults = {"connect_timeout": _PG_CONNECT_TIMEOUT_S, "application_name": "airflow-ai-governance"}
    engine = sa.create_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        connect_args={k: v for k, v in defaults.items() if k not in parsed.query},
        execution_options={"schema_translate_map": {None: SCHEMA}},
    )
    event.listen(engine, "connect", _postgresql_on_connect)
    return engine


def _postgresql_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Lose nothing: a commit returns only once it is on disk, whatever the server's default.
    dbapi_connection.execute("SET synchronous_commit TO on")
    dbapi_connection.commit()


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _sqlite_on_begin)
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=FULL",  # lose nothing: every commit is on disk
        "foreign_keys=ON",
        f"busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # Writers take the write lock up front: a deferred transaction that reads the audit tail and
    # then writes could otherwise fail with SQLITE_BUSY instead of waiting its turn.
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(_READONLY) else "BEGIN IMMEDIATE")


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url``, created lazily (no I/O until first used).

    ``None`` is resolved once per process and environment (the variables that decide it), so the
    Airflow config file and connection are not looked up again on every store call.
    """
    key = url if url is not None else "\0".join(["env", *(os.environ.get(n, "") for n in _URL_ENV_VARS)])
    with _lock:
        resolved = _resolved.get(key)
        if resolved is None:
            resolved = _resolved[key] = resolve_url(url)
        engine = _engines.get(resolved)
        if engine is None:
            engine = _engines[resolved] = create_engine(resolved)
        return engine


def dispose_engines() -> None:
    """Close every cached engine's connections and forget them (tests, shutdown)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _forget()


def _forget_engines_after_fork() -> None:
    # A forked child must not reuse its parent's pooled connections (nor a lock held at fork time).
    global _lock
    _lock = threading.Lock()
    for engine in _engines.values():
        engine.dispose(close=False)
    _forget()


def _forget() -> None:
    _engines.clear()
    _resolved.clear()
    _ready.clear()


os.register_at_fork(after_in_child=_forget_engines_after_fork)


def _as_engine(db: Engine | str | None) -> Engine:
    return db if isinstance(db, Engine) else get_engine(db)


# ----------------------------------------------------------------------------------- errors
def unavailable(url: str | URL, reason: object, problem: str = "is unreachable") -> SidecarUnavailable:
    text = str(reason).strip()
    first_line = text.splitlines()[0] if text else type(reason).__name__
    hint = _HINT
    if "database" in first_line and "does not exist" in first_line:
        # `aigov db upgrade` migrates a database; it cannot connect to one that is not there.
        parsed = make_url(url) if isinstance(url, str) else url
        hint = (
            f"Create the database first (`createdb -h {parsed.host or 'localhost'} -U "
            f"{parsed.username or 'postgres'} {parsed.database}`, or CREATE DATABASE), then run "
            "`aigov db upgrade`."
        )
    return SidecarUnavailable(f"AI governance sidecar at {mask_url(url)} {problem}: {first_line}. {hint}")


# SQLSTATEs meaning "not migrated": undefined table / schema / column / function.
_NOT_MIGRATED_SQLSTATES = frozenset({"42P01", "3F000", "42703", "42883"})


def _is_not_migrated(error: exc.DBAPIError) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate in _NOT_MIGRATED_SQLSTATES or "no such table" in str(error.orig)


@contextmanager
def translate_errors(url: str | URL) -> Iterator[None]:
    """Re-raise the database errors that mean "sidecar unusable" as :class:`SidecarUnavailable`."""
    try:
        yield
    except exc.DBAPIError as error:
        if _is_not_migrated(error):
            raise unavailable(url, error.orig, "is not initialised") from error
        if isinstance(error, exc.OperationalError | exc.InterfaceError) or error.connection_invalidated:
            raise unavailable(url, error.orig) from error
        raise
    except exc.TimeoutError as error:  # connection pool exhausted
        raise unavailable(url, error) from error


# A Table (not a lightweight table()) so that schema_translate_map applies to it.
_version_table = sa.Table(VERSION_TABLE, sa.MetaData(), sa.Column("version_num", sa.String(32)))


def _ensure_ready(engine: Engine) -> None:
    """Once per engine: the database exists and is migrated to a revision this code knows."""
    key = engine.url.render_as_string(hide_password=False)
    if key in _ready:
        return
    database = sqlite_path(engine.url)
    if database is not None and not database.exists():
        raise unavailable(engine.url, f"the SQLite file {database} does not exist", "is not initialised")
    with engine.connect().execution_options(**{_READONLY: True}) as conn:
        revisions = set(conn.execute(sa.select(_version_table.c.version_num)).scalars())
    if HEAD_REVISION not in revisions:
        if revisions <= set(KNOWN_REVISIONS):
            found = f"revision {min(revisions)}" if revisions else "no revision"
            raise unavailable(
                engine.url, f"its schema is at {found}, not {HEAD_REVISION}", "is not up to date"
            )
        log.warning(
            "Sidecar %s is at revision %s, newer than this code (%s); carrying on.",
            mask_url(engine.url),
            ", ".join(sorted(revisions)),
            HEAD_REVISION,
        )
    _ready.add(key)


# --------------------------------------------------------------------------------- sessions
@contextmanager
def session_scope(db: DB = None, *, readonly: bool = False) -> Iterator[Session]:
    """Yield a Session in a transaction that commits on success and rolls back on error.

    ``db`` may be a URL, an engine, ``None`` (resolved URL) or an existing Session: that one is
    yielded as is and its owner commits, so store functions compose into one transaction.
    ``readonly=True`` lets SQLite readers run alongside the single writer.
    On SQLite, write transactions start with ``BEGIN IMMEDIATE`` (one writer at a time).
    """
    if isinstance(db, Session):
        yield db
        return
    engine = _as_engine(db)
    with translate_errors(engine.url):
        _ensure_ready(engine)
        bind = engine.execution_options(**{_READONLY: True}) if readonly else engine
        with Session(bind, expire_on_commit=False) as session, session.begin():
            yield session


@contextmanager
def read_connection(db: Engine | str | None = None, *, snapshot: bool = False) -> Iterator[Connection]:
    """A read-only Core connection inside a transaction (one consistent snapshot), for streaming.

    ``snapshot=True``: every statement of the transaction sees the same snapshot (PostgreSQL
    REPEATABLE READ; a SQLite read transaction always does), for reads that must agree.
    """
    engine = _as_engine(db)
    options: dict[str, Any] = {_READONLY: True}
    if snapshot and engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    with translate_errors(engine.url):
        _ensure_ready(engine)
        with engine.connect().execution_options(**options) as conn, conn.begin():
            yield conn
