"""The `danet` command line: thin Typer commands that parse, call `danet`, and render with Rich."""
