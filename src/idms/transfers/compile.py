"""A transfer as the workflow it runs as: one implementation of every connection, format, delta
hash and retry (the workflow actions'), the transfer only choosing and ordering them.

::

    fetch            fetch_query       the source query, its prompts' values
    changed          delta_hashing     (with delta) only the new or changed rows, by the key
    file             convert           the rows as the file (format, file_name)
    nothing_to_send  gate              (unless send_empty) a run with no rows ends here
    step_10 …        http_request | sftp_upload | ftp_upload | send_email | write_file

Without delta hashing (and with no HTTP step sending the rows in chunks), ``fetch`` and ``file``
are one step: Convert reads the query itself (``input: {query, params}``), its rows streamed
into the file as tuples of cells, with no object per row and no row set in between (issue 16:
a million rows exported in about the time of a bare script). The history then takes the rows
fetched from the file step.

Each connection step keeps its ``when`` and is compiled with ``on_failure: continue``: a failed
send lets the steps after it run (a ``when: failure`` step reports it), and still ends the run
failed, so Delta Hashing's fingerprints are not kept and the rows are sent again next time.

A connection's fields are passed to its action as they are, with what the transfer supplies
added (the file, or the rows in chunks for HTTP); they are checked by the action's own model
(:func:`check_transfer`), each problem named where it is in the transfer
(``steps[1].connection.url: …``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from idms.errors import InvalidInputError
from idms.transfers.inbound import inbound_problems
from idms.transfers.model import (
    TransferDoc,
    TransferInvalid,
    TransferStep,
    order_problems,
    parse_transfer,
)
from idms.workflows.actions import actions
from idms.workflows.actions.convert import extension_problem
from idms.workflows.check import step_problems
from idms.workflows.model import WorkflowDoc

ACTION_OF = {
    "http": "http_request",
    "sftp": "sftp_upload",
    "ftp": "ftp_upload",
    "ftps": "ftp_upload",
    "email": "send_email",
    "folder": "write_file",
}
# What the transfer itself gives each connection's action: not to be written in the document.
SUPPLIED = {
    "http": ("body_file", "batch"),
    "sftp": ("file",),
    "ftp": ("file", "tls"),
    "ftps": ("file", "tls"),
    "email": ("attachments",),
    "folder": ("file",),
}
FILE = "{{ steps.file }}"
HTTP_TIMEOUT = 900  # seconds: iDMS's fixed 15 minutes, the default here
FIXED_IDS = ("fetch", "changed", "file", "nothing_to_send")


def step_id(step: TransferStep) -> str:
    """The compiled step's id: ``step_<order>`` (the order is unique in a transfer)."""
    return f"step_{step.order}"


def rows_reference(doc: TransferDoc) -> str:
    """The template that gives the rows to send: the changed ones, or all of them."""
    return "{{ steps.changed.rows }}" if doc.delta is not None else "{{ steps.fetch }}"


def fused(doc: TransferDoc) -> bool:
    """Whether ``doc`` compiles to one step that reads the query and writes the file: nothing
    needs the rows themselves (no delta hashing, no HTTP step sending them in chunks)."""
    return doc.delta is None and not any(
        s.connection.type == "http" and "chunk" in s.connection.params for s in doc.steps
    )


def _connection_params(doc: TransferDoc, step: TransferStep) -> dict[str, Any]:
    """A connection step's ``with``: its fields, and what the transfer supplies."""
    kind = step.connection.type
    given = step.connection.params
    if kind == "http":
        params: dict[str, Any] = {"method": "POST", "timeout_seconds": HTTP_TIMEOUT}
        chunk = given.pop("chunk", None)
        params.update(given)
        if chunk is not None:
            batch = dict(chunk) if isinstance(chunk, dict) else {"size": chunk}
            params["batch"] = {"items": rows_reference(doc), **batch}
        elif "body" not in given:
            params["body_file"] = FILE
        return params
    if kind == "email":
        return {
            "subject": f"{doc.name}: {{{{ steps.file.file_name }}}}",
            "body": f"The file of transfer '{doc.name}' is attached "
            "({{ steps.file.rows }} rows).",
            **given,
            "attachments": [{"content": FILE, "name": "{{ steps.file.file_name }}"}],
        }
    if kind in ("ftp", "ftps"):
        return {**given, "tls": "explicit" if kind == "ftps" else "none", "file": FILE}
    return {**given, "file": FILE}


def _nothing_to_send(doc: TransferDoc) -> str:
    """The gate's condition: no row to send (and, when asked, no key gone)."""
    if doc.delta is not None and doc.delta.report_removed:
        return (
            "{% if steps.file.rows == 0 and steps.changed.removed_keys.size == 0 %}true{% endif %}"
        )
    return "{% if steps.file.rows == 0 %}true{% endif %}"


def compile_transfer(doc: TransferDoc) -> WorkflowDoc:
    """The workflow ``doc`` runs as (see the module docstring)."""
    if doc.source is None or not doc.steps:
        raise InvalidInputError(
            f"Transfer '{doc.name}' only receives records (inbound): it has nothing to send."
        )
    query = {"query": doc.source.query, "params": dict(doc.source.parameters)}
    steps: list[dict[str, Any]] = []
    if not fused(doc):
        steps.append(
            {
                "id": "fetch",
                "name": f"Fetch query {doc.source.query}",
                "action": "fetch_query",
                "with": query,
            }
        )
    if doc.delta is not None:
        steps.append(
            {
                "id": "changed",
                "name": f"Delta hashing on {doc.delta.key}",
                "action": "delta_hashing",
                "with": {
                    "key_column": doc.delta.key,
                    "input": "{{ steps.fetch }}",
                    "removed_keys": doc.delta.report_removed,
                },
            }
        )
    convert = {**doc.format, "input": query if fused(doc) else rows_reference(doc)}
    if doc.file_name is not None:
        convert["file_name"] = doc.file_name
    name = f"Fetch query {doc.source.query} and write the file" if fused(doc) else "Write the file"
    steps.append({"id": "file", "name": name, "action": "convert", "with": convert})
    if not doc.send_empty:
        steps.append(
            {
                "id": "nothing_to_send",
                "name": "Nothing to send",
                "action": "gate",
                "with": {
                    "mode": "success",
                    "when": _nothing_to_send(doc),
                    "message": "no rows to send",
                },
            }
        )
    for step in doc.ordered:
        steps.append(
            {
                "id": step_id(step),
                "name": step.name,
                "action": ACTION_OF[step.connection.type],
                "with": _connection_params(doc, step),
                "when": step.when.value,
                "on_failure": "continue",
            }
        )
    return WorkflowDoc.model_validate(
        {"name": doc.name, "description": doc.description, "steps": steps}
    )


def check_transfer(
    document: Any, *, more: Callable[[TransferDoc], list[str]] | None = None
) -> TransferDoc:
    """``document`` as a :class:`TransferDoc` whose connections and format its actions take
    (and ``more``'s checks, e.g. the source query's prompts); :class:`TransferInvalid` listing
    every problem otherwise."""
    try:
        doc = parse_transfer(document)
    except TransferInvalid as exc:
        found = exc.problems + _readable_step_problems(document) + _salvaged_problems(document)
        raise TransferInvalid(list(dict.fromkeys(found))) from None
    problems = _supplied_problems(doc)
    if doc.sends:
        problems += _action_problems(_without_supplied(doc))
    if doc.inbound is not None:
        problems += inbound_problems(doc.inbound)
    if more is not None:
        problems += more(doc)
    if problems:
        raise TransferInvalid(list(dict.fromkeys(problems)))
    return doc


def _readable_step_problems(document: Any) -> list[str]:
    """The order problems of the steps that can be read, when the document as a whole cannot
    (so the one answer lists everything)."""
    steps = document.get("steps") if isinstance(document, dict) else None
    if not isinstance(steps, list):
        return []
    readable = []
    for index, raw in enumerate(steps):
        try:
            readable.append((index, TransferStep.model_validate(raw)))
        except ValueError:
            order = raw.get("order") if isinstance(raw, dict) else None
            if isinstance(order, int):  # its order still counts, whatever else is wrong
                stand_in = {"order": order, "name": "-", "connection": {"type": "http"}}
                readable.append((index, TransferStep.model_validate(stand_in)))
    return [p for p in order_problems(readable) if ".when:" not in p or len(readable) == len(steps)]


def _salvaged_problems(document: Any) -> list[str]:
    """The problems of the readable parts (the format, each readable step's connection) of a
    document whose shape is wrong elsewhere: checked as parts of a stand-in transfer, so the
    one answer lists them too."""
    if not isinstance(document, dict):
        return []
    raw_steps = document.get("steps")
    kept: list[tuple[int, dict[str, Any]]] = []
    for index, raw in enumerate(raw_steps if isinstance(raw_steps, list) else []):
        try:
            step = TransferStep.model_validate(raw)
        except ValueError:
            continue
        kept.append((index, step.model_dump(mode="json", by_alias=True)))
    stand_in: dict[str, Any] = {
        "name": "-",
        "source": {"query": "-"},
        "steps": [
            {**step, "order": number, "when": "always"}
            for number, (_, step) in enumerate(kept, start=1)
        ]
        or [{"order": 1, "name": "-", "connection": {"type": "http", "url": "http://x"}}],
    }
    if isinstance(document.get("format"), dict):
        stand_in["format"] = document["format"]
    if isinstance(document.get("file_name"), str):
        stand_in["file_name"] = document["file_name"]
    try:
        doc = parse_transfer(stand_in)
    except TransferInvalid:
        return []
    found = _supplied_problems(doc) + _action_problems(_without_supplied(doc))
    out = []
    for line in found:
        match = re.match(r"^steps\[(\d+)\]", line)
        if match is not None:
            if not kept:
                continue  # the stand-in step: not the document's
            original = kept[int(match.group(1))][0]
            line = f"steps[{original}]" + line[match.end() :]
        out.append(line)
    return out


def _without_supplied(doc: TransferDoc) -> TransferDoc:
    """``doc`` without what the transfer supplies itself (each reported once, as such)."""
    data = doc.model_dump(mode="json", by_alias=True)
    data["format"] = {k: v for k, v in doc.format.items() if k not in ("input", "file_name")}
    for step in data["steps"]:
        kind = step["connection"]["type"]
        for key in (*SUPPLIED[kind], *(() if kind == "http" else ("chunk",))):
            step["connection"].pop(key, None)
    return TransferDoc.model_validate(data)


def _supplied_problems(doc: TransferDoc) -> list[str]:
    problems = []
    for index, step in enumerate(doc.steps):
        kind = step.connection.type
        for key in SUPPLIED[kind]:
            if key in step.connection.params:
                problems.append(
                    f"steps[{index}].connection.{key}: the transfer supplies it (the file it "
                    "wrote, or its rows): leave it out"
                )
        if kind != "http" and "chunk" in step.connection.params:
            problems.append(
                f"steps[{index}].connection.chunk: only an http connection sends rows in chunks"
            )
    for key in ("input",):
        if key in doc.format:
            problems.append(f"format.{key}: the transfer supplies the rows: leave it out")
    if "file_name" in doc.format:
        problems.append("format.file_name: give the file's name as the transfer's file_name")
    problems += _file_name_problems(doc)
    return problems


def _file_name_problems(doc: TransferDoc) -> list[str]:
    """A file name ending in another format's extension (``orders.txt`` as NDJSON): Convert
    would refuse it at every run, so it is refused when the transfer is saved. Only the text
    after the name's last template is known now (``members-{{ now… }}.csv``)."""
    kind = doc.format.get("format", "csv")
    if doc.file_name is None or not isinstance(kind, str):
        return []
    tail = re.split(r"\}\}|%\}", doc.file_name)[-1]
    why = extension_problem(tail, kind)
    if why is None:
        return []
    return ["file_name: " + why.replace(f"name {tail} ", f"name {doc.file_name} ", 1)]


def _action_problems(doc: TransferDoc) -> list[str]:
    """Each compiled step checked by its action, the problems named where they are in the
    transfer."""
    known = actions()
    problems: list[str] = []
    missing = {i for i, s in enumerate(doc.steps) if ACTION_OF[s.connection.type] not in known}
    for index in sorted(missing):
        kind = doc.steps[index].connection.type
        problems.append(
            f"steps[{index}].connection.type: {kind} needs the {ACTION_OF[kind]} action, which "
            "this installation of idms does not have"
        )
    if missing:
        return problems
    compiled = compile_transfer(doc)
    ids = [s.id for s in compiled.steps]
    places = _places(doc)
    for position, step in enumerate(compiled.steps):
        for line in step_problems(step, position, ids):
            problems.append(_relocate(line, position, places[step.id]))
    return problems


def _places(doc: TransferDoc) -> dict[str, str]:
    """Each compiled step's id -> where its parameters come from in the transfer."""
    places = {"fetch": "source", "changed": "delta", "file": "format", "nothing_to_send": ""}
    for index, step in enumerate(doc.steps):
        places[step_id(step)] = f"steps[{index}].connection"
    return places


def _relocate(line: str, position: int, place: str) -> str:
    """A compiled step's problem (``steps[3].with.url: …``) as the transfer's
    (``steps[0].connection.url: …``)."""
    prefix = f"steps[{position}].with"
    if not line.startswith(prefix):
        return line
    rest = line[len(prefix) :]
    if place.endswith(".connection"):
        rest = re.sub(r"^\.batch\b", ".chunk", rest)  # the chunks an http step is given
    if place == "source":
        rest = re.sub(r"^\.params\b", ".parameters", rest)
    elif place == "format" and rest.startswith(".file_name"):
        return "file_name" + rest[len(".file_name") :]
    return f"{place}{rest}"


def compiled_steps(doc: TransferDoc) -> dict[str, dict[str, Any]]:
    """Each connection step's id -> what the run history shows of it (its order, name,
    connection type): kept with each run, so a run is read as the transfer was then."""
    return {
        step_id(s): {"order": s.order, "name": s.name, "type": s.connection.type}
        for s in doc.ordered
    }


__all__ = [
    "ACTION_OF",
    "FIXED_IDS",
    "check_transfer",
    "compile_transfer",
    "compiled_steps",
    "fused",
    "rows_reference",
    "step_id",
]
