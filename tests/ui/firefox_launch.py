"""Starting the system's Firefox (Debian's ``firefox-esr``) under Playwright: over WebDriver BiDi
(the ``moz-firefox`` channel), through ``firefox_bidi.py``, which answers the one command this
Firefox lacks. No browser is downloaded: Playwright's own Firefox build cannot be had here."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

RELAY = Path(__file__).with_name("firefox_bidi.py")

# No test needs Mozilla's servers: Firefox is not to ask them for experiments, settings or its
# region while the tests run (Playwright's own preferences already turn off updates, telemetry
# and safe browsing).
QUIET = {
    "messaging-system.rsexperimentloader.enabled": False,
    "services.settings.server": "http://127.0.0.1:9/",
    "browser.region.network.url": "",
    "browser.region.update.enabled": False,
    "network.captive-portal-service.enabled": False,
}


def launcher(firefox: str, folder: Path) -> Path:
    """An executable that Playwright starts as if it were Firefox: it runs the relay in this
    Python, which starts ``firefox`` with Playwright's arguments."""
    script = folder / "firefox"
    command = shlex.join([sys.executable, str(RELAY), firefox])
    script.write_text(f'#!/bin/sh\nexec {command} "$@"\n', encoding="utf-8")
    script.chmod(0o755)
    return script


def launch_firefox(playwright: Any, firefox: str, folder: Path) -> Any:
    """A headless Firefox, ``firefox`` being its executable; ``folder`` holds the launcher."""
    return playwright.firefox.launch(
        channel="moz-firefox",
        executable_path=str(launcher(firefox, folder)),
        headless=True,
        firefox_user_prefs=QUIET,
    )
