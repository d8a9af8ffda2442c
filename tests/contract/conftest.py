"""Plain ``assert`` in the shared contract reports its values, as in a test module."""

import pytest

pytest.register_assert_rewrite("contract.suite", "contract.folding")
