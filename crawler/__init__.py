"""cds-crawler: discovers and snapshots Carbon Data Specification server metadata."""

__version__ = "0.1.0"
PROJECT_URL = "https://pypi.org/project/cds-crawler/"
