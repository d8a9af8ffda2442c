"""The demo's sample jobs import into the demo store with the errors they mean to show."""

from __future__ import annotations

from pathlib import Path

from idms.demo.generate import fill_demo
from idms.demo.samples import write_samples
from idms.jobs.assemble import job_from_file
from idms.jobs.runner import run_job
from idms.runs.record import RunStore
from idms.state.store import open_suite
from idms.targets.embedded.target import EmbeddedTarget


def test_sample_jobs_run(tmp_path: Path) -> None:
    target = EmbeddedTarget(f"sqlite:///{tmp_path / 'imis.db'}")
    try:
        fill_demo(target.engine, contacts=300, seed=2)
        webinar, levels = write_samples(target.engine, tmp_path / "samples", seed=2)
        runs = RunStore(open_suite(f"sqlite:///{tmp_path / 'suite.db'}"))
        report = run_job(job_from_file(webinar), target=target, runs=runs)
        counts = report.counts.as_dict()
        assert counts["errors"] == 2  # the stranger and the malformed address
        assert counts["inserted"] == counts["rows"] - 2
        codes = {r.code for r in runs.rows(report.run_id) if r.outcome == "error"}
        assert codes == {"contact_not_found", "invalid_email"}
        report = run_job(job_from_file(levels), target=target, runs=runs)
        assert report.status == "succeeded"
        assert report.counts.as_dict()["inserted"] == 1  # the newcomer
    finally:
        target.close()
