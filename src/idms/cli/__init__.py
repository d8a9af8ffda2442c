"""The ``idms`` command line: thin Typer shells over the library, printed with Rich."""
