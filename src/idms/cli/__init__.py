"""The ``idms`` command line: thin Typer shells over the library, printed with Rich.

Importing it pauses the cycle collector while the command starts (idms.gcpause says why).
"""

from idms.gcpause import pause_startup

pause_startup()
