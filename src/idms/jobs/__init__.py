"""The import engine: read, map, match, decide, plan, apply, record, undo."""
