"""The contract suite through the REST target, over real HTTP, against the sandbox.

The sandbox serves a fresh embedded store per test; reference data and panels are written into
that store directly (as tests/contract/test_embedded.py does), everything else goes through the
REST target. A few tests check that numbers the store assigns follow input order *within one
batch*; over REST that holds only when the batch is written one change after another
(``ordered=True``), since concurrent calls reach iMIS in no fixed order, so those run on an
ordered target; every other test runs on the default, concurrent one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from contract.folding import CaseFoldingContract
from contract.suite import PanelContract, TargetContract
from idms.targets.base import Target
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis.target import RestTarget

from .conftest import Serve
from .support import seed_panels, seed_store

# Tests whose batches rely on iMIS numbering changes for different contacts in input order.
ORDER_DEPENDENT = frozenset(
    {
        "test_contact_insert_assigns_ids_from_the_counter",
        "test_activity_insert_assigns_seqn_and_defaults_the_date",
        "test_multi_panel_insert_assigns_ordinals",
        "test_read_operators_on_numbers",
    }
)
STORES: dict[int, EmbeddedTarget] = {}


class TestRestSandbox(TargetContract, PanelContract, CaseFoldingContract):
    keeps_journal = False
    expected_platform = "ems"

    @pytest.fixture
    def target(
        self,
        request: pytest.FixtureRequest,
        new_store: Callable[[str], EmbeddedTarget],
        serve: Serve,
    ) -> Iterator[RestTarget]:
        store = new_store("imis")
        served = serve(store)
        rest = served.rest(ordered=request.node.originalname in ORDER_DEPENDENT)
        STORES[id(rest)] = store
        yield rest
        STORES.pop(id(rest), None)

    @staticmethod
    def store_of(target: Target) -> EmbeddedTarget:
        assert isinstance(target, RestTarget)
        return STORES[id(target)]

    def seed_reference_data(self, target: Target) -> None:
        seed_store(self.store_of(target))
        assert isinstance(target, RestTarget)
        target.refresh()

    def seed_panels(self, target: Target) -> None:
        seed_panels(self.store_of(target))
        assert isinstance(target, RestTarget)
        target.refresh()
