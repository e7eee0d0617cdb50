"""Pure domain logic: no I/O, no clock, no imports from the rest of the project."""
