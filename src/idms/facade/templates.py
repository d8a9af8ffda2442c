"""The templates part of the facade beyond saving one (``workspace.py``): which schedules run
a template, and deleting one, refused while a schedule or a workflow's Run Job step still runs
it (it would fail at its next run with "No template"). The command line, the API and the web
UI delete through here, so all three refuse alike."""

from __future__ import annotations

from idms.errors import Conflict
from idms.facade.workflows import WorkflowFacade
from idms.schedules.model import ScheduleInfo
from idms.state.templates import TemplateInfo


class TemplateFacade(WorkflowFacade):
    """Templates (a part of :class:`idms.workspace.Workspace`)."""

    def template_schedules(self) -> dict[str, list[ScheduleInfo]]:
        """The schedules that run each template, by the template's name (one read of the
        schedules for a whole list of templates)."""
        by_template: dict[str, list[ScheduleInfo]] = {}
        for schedule in self.schedules.list():
            if schedule.kind == "template" and schedule.template:
                by_template.setdefault(schedule.template, []).append(schedule)
        return by_template

    def deletable_template(self, name: str) -> TemplateInfo:
        """Template ``name`` if it may be deleted: NotFound (with the closest name) when there
        is none, Conflict naming the schedules and workflows while any runs it."""
        info = self.templates.get(name)
        schedules = [s.name for s in self.template_schedules().get(info.name, [])]
        workflows = self.template_workflows(info.name)
        users = [_named("schedule", schedules), _named("workflow", workflows)]
        if schedules or workflows:
            many = len(schedules) + len(workflows) > 1
            them = "them" if many else "it"
            raise Conflict(
                f"Template '{info.name}' is run by {' and '.join(u for u in users if u)}: "
                f"remove {them}, or change {them} to run something else, before deleting the "
                "template.",
                hint="'idms schedule remove NAME' removes a schedule.",
            )
        return info

    def template_workflows(self, name: str) -> list[str]:
        """The workflows with a Run Job step naming template ``name`` (as written: a name
        made by a template expression is known only when the step runs)."""
        return [
            flow.name
            for flow in self.workflows()
            if any(
                isinstance(step, dict)
                and step.get("action") == "run_job"
                and isinstance(step.get("with"), dict)
                and step["with"].get("template") == name
                for step in flow.document.get("steps") or []
            )
        ]

    def delete_template(self, name: str) -> TemplateInfo:
        """Delete template ``name`` (:meth:`deletable_template` first). Runs made from it keep
        their own copy of the job; only the template goes."""
        info = self.deletable_template(name)
        self.templates.delete(info.name)
        return info


def _named(kind: str, names: list[str]) -> str:
    """``schedule 'A'`` / ``schedules 'A', 'B'`` / ``""``."""
    if not names:
        return ""
    return f"{kind}{'s' if len(names) > 1 else ''} " + ", ".join(f"'{n}'" for n in names)
