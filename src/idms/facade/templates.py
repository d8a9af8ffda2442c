"""The templates part of the facade beyond saving one (``workspace.py``): which schedules run
a template, and deleting one, refused while a schedule still runs it (the schedule would fail
at its next fire with "No template"). The command line, the API and the web UI delete through
here, so all three refuse alike."""

from __future__ import annotations

from idms.errors import Conflict
from idms.facade.base import WorkspaceBase
from idms.schedules.model import ScheduleInfo
from idms.state.templates import TemplateInfo


class TemplateFacade(WorkspaceBase):
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
        is none, Conflict naming the schedules while any runs it."""
        info = self.templates.get(name)
        users = [s.name for s in self.template_schedules().get(info.name, [])]
        if users:
            named = ", ".join(f"'{u}'" for u in users)
            plural = "s" if len(users) > 1 else ""
            raise Conflict(
                f"Template '{info.name}' is run by schedule{plural} {named}: remove "
                f"{'them' if plural else 'it'}, or change {'them' if plural else 'it'} to run "
                "something else, before deleting the template.",
                hint="'idms schedule remove NAME' removes a schedule.",
            )
        return info

    def delete_template(self, name: str) -> TemplateInfo:
        """Delete template ``name`` (:meth:`deletable_template` first). Runs made from it keep
        their own copy of the job; only the template goes."""
        info = self.deletable_template(name)
        self.templates.delete(info.name)
        return info
