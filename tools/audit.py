"""``make security``'s dependency audit: the pinned versions (constraints.txt) against the
published advisories, with pip-audit.

- A pinned version with a known vulnerability fails the build (exit 1), naming the package, the
  advisory and the versions that fix it: move the pin, or excuse the advisory in ``IGNORED``
  below with its id and the reason it does not apply.
- An advisory database that cannot be reached is reported, not fatal (exit 0 with a warning):
  ``make test`` depends on no network service beyond the package registries. So is one that
  answers for none of the packages (a registry mirror that serves packages but not their
  advisories): the packages were not checked, and the audit never says they were.
- Anything else pip-audit fails on (an unreadable constraints file) is an error (exit 2).

Usage: ``python tools/audit.py [constraints.txt]`` with the project's virtual environment
(pip-audit is a development dependency).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Advisories that do not apply to idms: {advisory id: why}. Each is passed to pip-audit as
# --ignore-vuln and left out of the verdict. Empty: no pinned version has a known vulnerability.
IGNORED: dict[str, str] = {}

TIMEOUT = 15  # seconds for one request to the advisory database
DEADLINE = 120  # seconds for the whole audit: past it the database is taken as unreachable
UNREACHABLE = re.compile(
    r"ConnectionError|ProxyError|ConnectTimeout|ReadTimeout|Timeout|SSLError|"
    r"NewConnectionError|Max retries exceeded|Name or service not known|"
    r"Temporary failure in name resolution|Network is unreachable|ServiceError",
)
NOT_AUDITED = "could not be audited"  # pip-audit's skip reason when the database has no answer


@dataclass(frozen=True)
class Verdict:
    """What the audit says (``lines``) and how it exits (``code``: 0, 1 or 2)."""

    code: int
    lines: list[str]


def audit(constraints: Path) -> Verdict:
    """Run pip-audit over ``constraints`` (exact pins, no resolution) and judge its answer."""
    with tempfile.TemporaryDirectory(prefix="idms-audit-") as folder:
        report = Path(folder) / "report.json"
        command = [
            sys.executable,
            "-m",
            "pip_audit",
            "--requirement",
            str(constraints),
            "--no-deps",  # constraints.txt pins every package, dependencies included
            "--disable-pip",
            "--format",
            "json",
            "--output",
            str(report),
            "--progress-spinner",
            "off",
            "--timeout",
            str(TIMEOUT),
        ]
        for advisory in IGNORED:
            command += ["--ignore-vuln", advisory]
        try:
            done = subprocess.run(  # a fixed command, no shell
                command, capture_output=True, text=True, timeout=DEADLINE, check=False
            )
        except subprocess.TimeoutExpired:
            return unreachable(constraints, f"no answer within {DEADLINE} seconds")
        data = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else None
    return judge(constraints, data, done.returncode, done.stderr)


def judge(constraints: Path, report: Any, returncode: int, stderr: str) -> Verdict:
    """The verdict on pip-audit's JSON ``report`` (None when it wrote none) and its exit."""
    if not isinstance(report, dict):
        if UNREACHABLE.search(stderr):
            return unreachable(constraints, _last_line(stderr))
        return Verdict(2, [f"pip-audit failed (exit {returncode}): {_last_line(stderr)}"])
    packages = [d for d in report.get("dependencies", []) if isinstance(d, dict)]
    found = [
        (p, v)
        for p in packages
        for v in p.get("vulns", [])
        if isinstance(v, dict) and not ({v.get("id"), *v.get("aliases", [])} & set(IGNORED))
    ]
    skipped = [p for p in packages if NOT_AUDITED in str(p.get("skip_reason", ""))]
    lines: list[str] = []
    if found:
        lines.append(f"pip-audit: {len(found)} known vulnerabilities in {constraints}'s pins:")
        for package, vuln in found:
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
            lines.append(
                f"  {package.get('name')} {package.get('version')}: {vuln.get('id')} "
                f"(fixed in {fixes})"
            )
        lines.append(
            f"Move each pin in {constraints} to a fixed version (then run make test), or excuse "
            "the advisory in tools/audit.py's IGNORED with the reason it does not apply."
        )
    if skipped and len(skipped) == len(packages):
        lines.append(
            f"WARNING: the advisory database answered for none of the {len(packages)} pinned "
            f"packages ({skipped[0].get('skip_reason')}): they were not checked for known "
            "vulnerabilities."
        )
    elif skipped:
        names = ", ".join(str(p.get("name")) for p in skipped)
        lines.append(f"WARNING: not checked for known vulnerabilities (no answer): {names}.")
    if not found and len(skipped) < len(packages):
        checked = len(packages) - len(skipped)
        lines.append(f"pip-audit: no known vulnerability in {checked} pinned packages.")
    return Verdict(1 if found else 0, lines)


def unreachable(constraints: Path, reason: str) -> Verdict:
    return Verdict(
        0,
        [
            f"WARNING: pip-audit could not reach the advisory database ({reason}): the pins of "
            f"{constraints} were not checked for known vulnerabilities."
        ],
    )


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no message"


def main(argv: list[str]) -> int:
    constraints = Path(argv[0] if argv else "constraints.txt")
    verdict = audit(constraints)
    for line in verdict.lines:
        print(line, file=sys.stderr if verdict.code or line.startswith("WARNING") else sys.stdout)
    return verdict.code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
