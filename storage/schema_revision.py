"""The Alembic revision the code expects, importable without SQLAlchemy (see storage.reader)."""

SCHEMA_REVISION = "0010"
