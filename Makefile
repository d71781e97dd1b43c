# loopml: `make demo` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: demo test lint docs pytest bench clean help

help:  ## List the targets
	@grep -E '^[a-z-]+:.*##' Makefile | sed 's/:.*## /\t/'

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "loopml needs Python 3.11+; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed-demo: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e ".[examples]"
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e ".[dev]"
	@touch $@ $(VENV)/.installed-demo

demo: $(VENV)/.installed-demo  ## Create .venv, install, run the end-to-end quickstart
	cd examples && ../$(PY) quickstart.py

lint: $(VENV)/.installed-dev  ## ruff + mypy --strict + import-linter layer contracts
	$(VENV)/bin/ruff check src tests bench docs/examples examples
	$(VENV)/bin/ruff format --check src tests bench docs/examples examples
	$(VENV)/bin/mypy --strict src/loopml
	$(VENV)/bin/lint-imports

docs: $(VENV)/.installed-dev  ## Build the docs site (strict: broken links fail)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir site

pytest: $(VENV)/.installed-dev  ## Run the test suite only
	$(VENV)/bin/pytest -q -n 2 --dist loadgroup

test: lint docs pytest  ## Install dev extras, lint, build docs, run the whole suite

bench: $(VENV)/.installed-dev  ## Run the benchmarks against the peer tools (creates bench venvs)
	$(PY) bench/tracking.py --markdown
	$(PY) bench/models.py --markdown
	$(PY) bench/pipelines.py --markdown
	$(PY) bench/data.py --markdown  # needs ~12 GiB free

clean:  ## Remove the venv, caches and the docs site
	rm -rf $(VENV) site .pytest_cache .mypy_cache .ruff_cache
