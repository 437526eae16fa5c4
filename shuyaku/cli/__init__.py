"""The `shuyaku` command: one module per stage, wired together in `main`. Nothing below imports this package."""

from shuyaku.cli.main import SchemaName, app, json_schema, main

__all__ = ["SchemaName", "app", "json_schema", "main"]
