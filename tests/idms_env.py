"""Which ``IDMS_*`` variables a test must not inherit from the shell that runs pytest."""

from __future__ import annotations

import os

# The harness's own variables: where the test services are (IDMS_TEST_POSTGRES_URL, ...).
HARNESS_PREFIX = "IDMS_TEST_"


def idms_settings_in_environment() -> list[str]:
    """The ``IDMS_*`` variables set now that idms itself could read (all but the harness's): by
    prefix, so a setting added to idms is covered without a list to keep up to date."""
    return [n for n in os.environ if n.startswith("IDMS_") and not n.startswith(HARNESS_PREFIX)]
