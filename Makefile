# Two commands: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint check serve migrate seed bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

run: export DEBUG ?= 1
run: $(VENV)/.installed
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Attune is running:  http://$(HOST):$(PORT)/"
	@echo "  Log in as demo / demo; the demo workshop's join links are on its Sessions page."
	@echo ""
	$(BIN)/python -m workshop.serve -b $(HOST) -p $(PORT) workshop.asgi:application

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff; the layers of docs/architecture.md (import-linter); types (mypy + django-stubs).
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	SECRET_KEY=mypy-only $(BIN)/mypy workshop sessions exports

# The fast inner loop: lint and the tests that need no browser, no servers of their own
# and no PDF renders.
check: lint
	$(BIN)/python -m pytest -q -n 2 -m "not browser and not own_servers and not slow" $(PYTEST_ARGS)

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/live_board.py
	$(BIN)/python bench/roadmap_pdf.py
	$(BIN)/python bench/edit_cost.py --postgres
	$(BIN)/python bench/page_apply.py

clean:
	rm -rf $(VENV) var .pytest_cache
