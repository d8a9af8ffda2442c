"""The checks made before a run (issue 19 item 8): ``idms check``, and the start of every run
against an iMIS over REST, which refuses to start on an error.

Against iMIS: the account holds SysAdmin and RemoteService, its password is not expired nor
about to be, and each panel source or IQA the job reads answers over REST (a custom panel
source or IQA not marked "Available via the REST API" answers 403 and stops a job half way).
The embedded store has no iMIS account and reads everything itself: a target that is not
:class:`~idms.targets.base.AccountChecked` gets one ``info`` finding saying the checks do not
apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from idms.errors import IdmsError, TargetError
from idms.facade.base import WorkspaceBase
from idms.targets.base import AccountChecked, capability
from idms.targets.findings import Finding

if TYPE_CHECKING:
    from idms.jobs.model import Job
    from idms.targets.base import FullTarget

REST_ENABLE = (
    "In iMIS, open RiSE > Panel Designer > Panel sources (for an IQA: RiSE > IQA), Security "
    "tab, and tick 'Available via the REST API'; or give the account the SysAdmin role."
)


class PreflightFacade(WorkspaceBase):
    def preflight(
        self, job: Job | None = None, *, warn_days: int = 14, target: FullTarget | None = None
    ) -> list[Finding]:
        """The findings of the checks before a run of ``job`` (or of the account alone).
        ``target``: one already open (the run's own), else the settings' target is opened."""
        if target is None:
            with self.target() as opened:
                return self.preflight(job, warn_days=warn_days, target=opened)
        account = capability(target, AccountChecked)
        if account is None:
            return [
                Finding(
                    "not-applicable",
                    "info",
                    "The target is the embedded store: it has no iMIS account, roles or "
                    "REST access to check.",
                )
            ]
        findings = account.account_findings(warn_days=warn_days)
        if job is not None:
            findings += self._reachable(job, target)
        return findings

    def refuse_on_preflight(self, job: Job, target: FullTarget) -> None:
        """Raise PreflightFailed (every error listed) unless the checks find no error."""
        from idms.targets.imis.preflight import refusal

        error = refusal(self.preflight(job, target=target), job.name)
        if error is not None:
            raise error

    def _reachable(self, job: Job, target: FullTarget) -> list[Finding]:
        """An error for the source or IQA of ``job`` that iMIS does not let the account read."""
        findings: list[Finding] = []
        try:
            next(iter(target.read(job.source, limit=1)), None)
        except TargetError as exc:
            findings.append(
                Finding(
                    "source-unreachable",
                    "error",
                    f"'{job.source}' cannot be read through the REST API: {exc.message}",
                    REST_ENABLE,
                )
            )
        except IdmsError:
            pass  # an unknown source: the job's own check says so, with the others
        query = job.input.query if job.input is not None else None
        if query is None:
            return findings
        from idms.jobs.query_input import resolve_query
        from idms.queries.compile import compile_query

        try:
            compiled = compile_query(resolve_query(query, self.queries), target.sources())
            params = job.input.params if job.input is not None else {}
            with target.query(compiled, params, limit=1) as result:
                next(iter(result), None)
        except TargetError as exc:
            findings.append(
                Finding(
                    "iqa-unreachable",
                    "error",
                    f"The IQA '{query}' cannot be run through the REST API: {exc.message}",
                    REST_ENABLE,
                )
            )
        except IdmsError:
            pass  # a query or prompt the job's own check refuses, with its reasons
        return findings
