# cic-sts: `make run` starts the STS with a demo SP; `make test` runs every check.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-stamp
# The versions the suite passed with; `make constraints` refreshes them.
PIP_INSTALL := $(PY) -m pip install --quiet --constraint constraints.txt
DEMO    ?= .demo

.PHONY: run test test-fast lint docs bench bench-sync bench-logon bench-presence \
	bench-switchover system-deps constraints clean

system-deps:
	@bash scripts/system-deps.sh test

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PIP_INSTALL) -e '.[test]'
	@touch $(STAMP)

# Everything the demo writes stays in $(DEMO)/ (git-ignored); it listens on 127.0.0.1 only.
run: $(STAMP)
	$(VENV)/bin/cic-sts demo --dir $(DEMO)

lint: $(STAMP)
	$(PY) -m ruff check idp tests bench
	$(PY) -m mypy

# axe-core for the browser tests' accessibility checks, pinned, from the npm registry (once).
AXE := tests/vendor/axe-core/axe.min.js
$(AXE): scripts/vendor-axe.sh
	@bash scripts/vendor-axe.sh
	@touch $(AXE)

test: system-deps $(STAMP) $(AXE) lint
	$(PY) -m pytest -q

# The inner loop: lint and the tests that start no real server (no nginx, Chromium, gunicorn).
test-fast: $(STAMP) lint
	$(PY) -m pytest -q -m "not e2e"

# docs/settings.md from the settings registry (a test keeps the committed copy equal).
docs: $(STAMP)
	$(PY) -m idp.config.reference > docs/settings.md

bench: $(STAMP)
	@bash scripts/system-deps.sh bench
	$(PY) bench/sso_throughput.py

# Full password logons through the generated nginx in front of the pair, at rising rates.
bench-logon: $(STAMP)
	@bash scripts/system-deps.sh test
	$(PY) bench/logon_bench.py

# The sync against the local SCIM server: 10,000 users, no-op and 1 % passes, the 300/min pace.
bench-sync: $(STAMP)
	$(PY) bench/sync_bench.py

# Issue 15's table: each switchover event through real nginx and HAProxy, cookie and Redis state.
bench-switchover: $(STAMP)
	@bash scripts/system-deps.sh bench
	$(PY) bench/switchover_bench.py

# Newest versions within pyproject's bounds, in a scratch venv; constraints.txt is replaced
# only when the whole suite passes with them.
constraints: system-deps
	rm -rf .venv-constraints
	$(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/python -m pip install --quiet --upgrade pip
	.venv-constraints/bin/python -m pip install --quiet -e '.[test]'
	.venv-constraints/bin/python -m pytest -q
	( echo "# Versions the whole test suite passed with (Python 3.11, Debian 12); refreshed by"; \
	  echo "# \`make constraints\`. Used by make run, make test and deploy/install.sh."; \
	  .venv-constraints/bin/python -m pip freeze --exclude-editable | grep -iv '^cic.sts' ) \
	  > constraints.txt
	rm -rf .venv-constraints

# The presence sync against the ICWS test pair and the Genesys stand-in at 300/min: 5,000
# agents, a shift-start burst and a steady stream, by `sync presence` alone and under `sync run`
# beside busy user and object passes (about 9 minutes).
bench-presence: $(STAMP)
	$(PY) bench/presence_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
