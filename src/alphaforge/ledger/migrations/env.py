"""Alembic environment of the ledger, run from code with a connection in
``config.attributes["connection"]`` (see ``alphaforge.ledger.connect.upgrade``)."""

from __future__ import annotations

from alembic import context

from alphaforge.ledger.models import Base

target_metadata = Base.metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("the ledger migrations run from code: pass a connection")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
