# One command runs the suite (`make run`), one runs the tests (`make test`).
# Each creates .venv and installs what it needs on first use, at the versions pinned in
# constraints.txt (`make constraints` moves the pins to the newest versions pyproject.toml allows).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONSTRAINTS := constraints.txt
WORKSPACE ?= idms-data

.PHONY: run test lint typecheck security pytest install browser constraints clean bench

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip -c $(CONSTRAINTS)
	$(BIN)/python -m pip install --quiet -e ".[dev]" -c $(CONSTRAINTS)
	touch $(STAMP)

install: $(STAMP) browser

# The web UI's browser tests drive the system's browsers through Playwright (no browser
# download): Chromium, and Firefox ESR for the main flows (over WebDriver BiDi). Each is installed
# here when it is missing and apt-get can be run (as root); elsewhere the tests that need it skip
# and say why (under CI=true they fail instead).
BROWSERS := chromium:chromium firefox:firefox-esr

browser:
	@for pair in $(BROWSERS); do \
		command=$${pair%%:*}; package=$${pair#*:}; \
		if ! command -v $$command >/dev/null 2>&1 && ! command -v $$package >/dev/null 2>&1; then \
			if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
				apt-get install -y --no-install-recommends $$package \
					|| { apt-get update && apt-get install -y --no-install-recommends $$package; }; \
			else \
				echo "$$package is missing: its browser tests will be skipped (apt-get install $$package)."; \
			fi; \
		fi; \
	done

# The newest versions pyproject.toml allows, pinned again (the file's comment lines kept; the build
# tools, setuptools and wheel, left to pyproject's build-system). Run `make test`, then commit.
constraints: $(STAMP)
	$(BIN)/python -m pip install --quiet --upgrade --upgrade-strategy eager pip -e ".[dev]"
	{ grep '^#' $(CONSTRAINTS); $(BIN)/python -m pip freeze --all --exclude-editable \
		| grep -v -e '^setuptools==' -e '^wheel=='; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	touch $(STAMP)

IDMS := $(BIN)/idms --workspace $(WORKSPACE)

run: $(STAMP)
	@$(IDMS) init
	@if [ "$$($(IDMS) records Contact --limit 1 --json)" = "[]" ]; then \
		$(IDMS) demo --contacts 5000 --seed 1 && echo && \
		echo "A sample import: a webinar roster without iMIS IDs, matched on e-mail and last name." && \
		{ $(IDMS) run $(WORKSPACE)/samples/webinar-attendance.yml --yes || true; }; \
	else \
		echo "The workspace $(WORKSPACE) already holds the demo association (and its sample import)."; \
	fi
	@echo
	@echo "Gold members (idms records Contact --where MemberType=GLD --limit 5):"
	@$(IDMS) records Contact --where MemberType=GLD --limit 5
	@echo
	@echo "Locked-out accounts (idms records UserCredentials --where IsLockedOut=true):"
	@$(IDMS) records UserCredentials --where IsLockedOut=true
	@echo
	@echo "The idms command is .venv/bin/idms: '. $(VENV)/bin/activate' puts it on your PATH (or: pipx install -e .)."
	@echo "Try next:  .venv/bin/idms --workspace $(WORKSPACE) runs"
	@echo "           .venv/bin/idms --workspace $(WORKSPACE) run $(WORKSPACE)/samples/member-levels.yml --plan"
	@echo "           .venv/bin/idms --workspace $(WORKSPACE) sources"
	@echo "           .venv/bin/idms --workspace $(WORKSPACE) sources Activity"
	@echo "           .venv/bin/idms --workspace $(WORKSPACE) records Volunteering --limit 10"
	@echo "The web UI: .venv/bin/idms --workspace $(WORKSPACE) user add admin --role admin"
	@echo "            .venv/bin/idms --workspace $(WORKSPACE) serve    (then open http://127.0.0.1:8000/)"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools

typecheck: $(STAMP)
	$(BIN)/mypy

# bandit over the source (its exceptions justified in pyproject.toml's [tool.bandit] or at the
# line), then the pinned dependencies against the published advisories: a known vulnerability
# fails; an advisory database out of reach is a warning (tools/audit.py).
security: $(STAMP)
	$(BIN)/bandit -c pyproject.toml -q -r src
	$(BIN)/python tools/audit.py $(CONSTRAINTS)

# The tests run in PYTEST_WORKERS processes (pytest-xdist), each test file in one of them (its
# module fixtures, servers and workspaces stay its own); most tests wait on servers and child
# processes, so two workers halve the time even on two cores. The files are handed out in the
# order tests/conftest.py gives them (--no-loadscope-reorder): those that use a browser first,
# so that each worker starts its browsers once, then the others, most tests first.
PYTEST_WORKERS ?= 2

pytest: $(STAMP) browser
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

test: lint typecheck security pytest

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
