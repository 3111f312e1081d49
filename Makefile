# JSM Companion: `make run` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test bench soak lint fmt clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

run: $(STAMP)
	$(BIN)/companion run

# axe-core (accessibility checks in the browser tests) from npm; the tests say why they skip without npm.
AXE := tests/.node/node_modules/axe-core/axe.min.js
$(AXE):
	-command -v npm >/dev/null && npm install --prefix tests/.node --no-audit --no-fund --silent axe-core@4

test: $(DEV_STAMP) $(AXE)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(DEV_STAMP)
	$(BIN)/python -m bench

# The chaos scenario (README "Chaos soak"): PostgreSQL from TEST_DATABASE_URL, else 127.0.0.1:5432/test.
soak: $(DEV_STAMP)
	$(BIN)/python -m tests.ops.soak $(SOAK_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

fmt: $(DEV_STAMP)
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
