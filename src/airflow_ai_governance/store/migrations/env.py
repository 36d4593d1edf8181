"""Alembic environment of the sidecar. Run through :func:`airflow_ai_governance.store.upgrade`.

``upgrade()`` passes an open connection (in a transaction, under the migration lock) in
``config.attributes["connection"]``. Without one (a developer running ``alembic`` by hand with
``-x url=...`` or the resolved sidecar URL) this module opens its own.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from airflow_ai_governance.store.engine import SCHEMA, create_engine, resolve_url
from airflow_ai_governance.store.migrations import VERSION_TABLE
from airflow_ai_governance.store.models import metadata


def run(connection: Connection) -> None:
    is_sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        version_table_schema=None if is_sqlite else SCHEMA,
        render_as_batch=is_sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = create_engine(resolve_url(context.get_x_argument(as_dictionary=True).get("url")))
    with engine.begin() as conn:
        run(conn)
    engine.dispose()
