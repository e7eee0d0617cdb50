"""Persistence: tables, migrations, repositories and the analysts' read model."""
