# Two commands: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# `make run HOST=0.0.0.0` lets phones on the same network in: the links printed use this
# machine's address on the network, and debug's ALLOWED_HOSTS takes it too.
ifeq ($(HOST),0.0.0.0)
LAN_IP := $(shell hostname -I 2>/dev/null | cut -d' ' -f1)
PUBLIC_HOST := $(or $(LAN_IP),127.0.0.1)
run: export ALLOWED_HOSTS ?= 127.0.0.1,localhost,$(PUBLIC_HOST)
else
PUBLIC_HOST := $(HOST)
endif

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
	$(BIN)/python manage.py seed_demo --base-url http://$(PUBLIC_HOST):$(PORT)
	@echo ""
	@echo "  Attune is running:  http://$(PUBLIC_HOST):$(PORT)/"
	@echo "  Log in as demo / demo; the demo workshop's join links are on its Sessions page."
	@echo ""
	$(BIN)/python -m workshop.serve -b $(HOST) -p $(PORT) workshop.asgi:application

test: lint node_modules/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# axe-core, which the browser tests inject into pages to check accessibility.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

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
	$(BIN)/python bench/board_page.py --postgres
	$(BIN)/python bench/grouping.py
	$(BIN)/python bench/profile_sample.py

clean:
	rm -rf $(VENV) var .pytest_cache
