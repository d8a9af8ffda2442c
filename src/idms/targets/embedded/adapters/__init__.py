"""One adapter per kind of source: how its records map to the store's tables, and its rules."""
