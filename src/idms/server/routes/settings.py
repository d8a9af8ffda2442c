"""``/settings/options``: the installation's default task options (iDMS's global settings),
read, changed and dropped; each change is checked as a job's options are, and a job's own
options (or its template's) still win (:mod:`idms.jobs.options`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, create_model, model_validator
from starlette.responses import JSONResponse, Response

from idms.errors import NotFound, suggest
from idms.jobs.model import Options
from idms.jobs.options import INSTALLATION_WIDE
from idms.server.auth import Context
from idms.server.schemas import ErrorBody

router = APIRouter(tags=["settings"])

EXAMPLE = {"batch_size": 500, "stop_after_errors": 25}


# The body: the options an installation may default, each as the job model declares it (its
# type and bounds, so the schema says what is accepted); the store checks them again. Strict,
# as the schema reads: true is a boolean and 0 is not; 500.0 is the integer 500, "500" is not.
class _StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _whole_numbers(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {
            k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in data.items()
        }


_FIELDS: dict[str, Any] = {
    name: (Options.model_fields[name].annotation, Options.model_fields[name])
    for name in INSTALLATION_WIDE
}
OptionDefaultsIn = create_model("OptionDefaultsIn", __base__=_StrictBody, **_FIELDS)


def _options(stored: dict[str, Any]) -> Response:
    from idms.jobs.options import defaults_report

    return JSONResponse(defaults_report(stored))


@router.get(
    "/settings/options",
    summary="Every task option's default for new runs, and where it comes from",
    responses={200: {"description": "{option: {value, from: global | built-in}}"}},
)
def get_options(context: Context) -> Response:
    return _options(context.workspace.option_defaults.get())


@router.patch(
    "/settings/options",
    summary="Set installation defaults (the others kept); checked as a job's options",
    responses={400: {"model": ErrorBody, "description": "A bad option: every problem named"}},
)
def patch_options(
    context: Context,
    values: Annotated[OptionDefaultsIn, Body(examples=[EXAMPLE])],
) -> Response:
    given = values.model_dump(exclude_unset=True)
    return _options(context.workspace.option_defaults.set(given))


@router.delete(
    "/settings/options/{name}",
    summary="Drop an installation default: the built-in value applies again",
    responses={
        400: {"model": ErrorBody, "description": "Refused"},
        404: {"model": ErrorBody, "description": "No task option of that name"},
    },
)
def delete_option(context: Context, name: str) -> Response:
    from idms.jobs.model import Options

    if name not in Options.model_fields:
        close = suggest(name, list(Options.model_fields))
        hint = f" Did you mean '{close}'?" if close else ""
        raise NotFound(f"No task option '{name}'.{hint}")
    return _options(context.workspace.option_defaults.unset([name]))
