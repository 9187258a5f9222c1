# cic-sts: `make run` starts the STS with a demo SP; `make test` runs every check.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-stamp

.PHONY: run test lint bench bench-sync bench-presence system-deps clean

system-deps:
	@bash scripts/system-deps.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: system-deps $(STAMP)
	$(VENV)/bin/cic-sts demo

lint: $(STAMP)
	$(PY) -m ruff check idp tests bench
	$(PY) -m mypy

test: system-deps $(STAMP) lint
	$(PY) -m pytest -q

bench: system-deps $(STAMP)
	$(PY) bench/sso_throughput.py

# The sync against the local SCIM server: 10,000 users, no-op and 1 % passes, the 300/min pace.
bench-sync: $(STAMP)
	$(PY) bench/sync_bench.py

# The presence sync against the ICWS test pair and the Genesys stand-in at 300/min: 5,000
# agents, a shift-start burst and a steady stream (about 4 minutes).
bench-presence: $(STAMP)
	$(PY) bench/presence_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
