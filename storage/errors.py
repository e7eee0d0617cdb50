"""The storage package's root exception; adapters translate driver errors into it."""


class StorageError(Exception):
    """The database cannot be used; the message says what went wrong."""
