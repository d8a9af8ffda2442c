"""Task options at three levels (as iDMS): the job's over its template's over the
installation's global defaults over the built-in ones, resolved in one place
(:func:`idms.jobs.options.resolve_options`, applied by ``finish_document``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from idms.config import Settings
from idms.errors import InvalidInputError
from idms.jobs.assemble import finish_document
from idms.jobs.model import build_job
from idms.jobs.options import check_defaults, option_line, resolve_options
from idms.workspace import Workspace

JOB: dict[str, Any] = {
    "name": "People",
    "input": "people.csv",
    "source": "Contact",
    "action": "insert-update",
    "mappings": [{"field": "Email", "column": "E-mail", "match": True}],
}


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(Settings.load(workspace=tmp_path / "ws", environ={}))
    try:
        yield ws
    finally:
        ws.close()


def test_each_layer_wins_over_the_one_below() -> None:
    resolved = resolve_options(
        {"batch_size": 10},
        {"batch_size": 20, "stop_after_errors": 5},
        {"batch_size": 30, "stop_after_errors": 6, "skip_validation": True},
    )
    assert resolved.given == {"batch_size": 10, "stop_after_errors": 5, "skip_validation": True}
    assert resolved.sources["batch_size"] == "job"
    assert resolved.sources["stop_after_errors"] == "template"
    assert resolved.sources["skip_validation"] == "global"
    assert resolved.sources["blank_values"] == "built-in"


def test_a_job_and_its_template_over_the_installation(workspace: Workspace) -> None:
    workspace.option_defaults.set({"batch_size": "250", "stop_after_errors": "7"})
    template = build_job({**JOB, "options": {"stop_after_errors": 3}})
    workspace.save_template("T", template)
    job = finish_document(
        {"template": "T", "options": {"skip_validation": True}},
        templates=workspace.templates,
        input_file=None,
    )
    assert (job.options.batch_size, job.options.stop_after_errors) == (250, 3)
    assert job.options.skip_validation is True
    sources = job.option_sources
    assert (sources["batch_size"], sources["stop_after_errors"]) == ("global", "template")
    assert (sources["skip_validation"], sources["blank_values"]) == ("job", "built-in")
    assert option_line(job) == (
        "skip_validation=true (job), batch_size=250 (global), stop_after_errors=3 (template)"
    )


def test_an_option_given_at_its_built_in_value_still_wins(workspace: Workspace) -> None:
    workspace.option_defaults.set({"batch_size": 250, "skip_blank_match_on": False})
    job = finish_document(
        {**JOB, "options": {"batch_size": 1000, "skip_blank_match_on": True}},
        templates=workspace.templates,
        input_file=None,
    )
    assert (job.options.batch_size, job.options.skip_blank_match_on) == (1000, True)
    assert job.option_sources["batch_size"] == "job"
    # ... and a template saved from it keeps the explicit value, not the global one.
    workspace.save_template("Kept", job)
    stored = workspace.templates.get("Kept").document
    assert stored["options"] == {"batch_size": 1000, "skip_blank_match_on": True}


def test_a_template_saved_from_a_resolved_job_keeps_only_its_own_options(
    workspace: Workspace,
) -> None:
    workspace.option_defaults.set({"batch_size": 250})
    job = finish_document(
        {**JOB, "options": {"stop_after_errors": 4}},
        templates=workspace.templates,
        input_file=None,
    )
    workspace.save_template("Own", job)
    assert workspace.templates.get("Own").document["options"] == {"stop_after_errors": 4}
    workspace.option_defaults.set({"batch_size": 300})
    again = finish_document({"template": "Own"}, templates=workspace.templates, input_file=None)
    assert again.options.batch_size == 300  # the changed global reaches the template's runs


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"batch_size": "0"}, "options.batch_size: Input should be greater than or equal to 1"),
        ({"batch_size": "many"}, "options.batch_size: Input should be a valid integer"),
        ({"blank_values": "erase"}, "options.blank_values: Input should be 'ignore' or 'clear'"),
        ({"batch_sise": 5}, "options.batch_sise: is not a job setting"),
        ({"allow_broad_delete": True}, "options.allow_broad_delete: is set per job"),
    ],
)
def test_a_bad_global_default_is_refused_naming_the_option(
    workspace: Workspace, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        workspace.option_defaults.set(values)
    assert message in str(refused.value)
    assert workspace.option_defaults.get() == {}  # nothing changed


def test_defaults_are_parsed_as_job_options_are() -> None:
    assert check_defaults({"skip_validation": "yes", "batch_size": "500"}) == {
        "skip_validation": True,
        "batch_size": 500,
    }


def test_unset_brings_back_the_built_in_value(workspace: Workspace) -> None:
    workspace.option_defaults.set({"batch_size": 250, "skip_identical": True})
    assert workspace.option_defaults.unset(["batch_size"]) == {"skip_identical": True}
    job = finish_document(dict(JOB), templates=workspace.templates, input_file=None)
    assert job.options.batch_size == 1000
    assert job.option_sources["batch_size"] == "built-in"
