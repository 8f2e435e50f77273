# The two commands: `make run` (the whole system with demo data) and `make test`. See README.md.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
ARGS ?=
REQUIREMENTS := requirements.txt requirements-dev.txt
# Holds a checksum of the requirements files: pip runs again only when they change.
STAMP := $(VENV)/.requirements.sha256
# Development: DEBUG on (kefu's settings default to off, and then refuse to start without a real secret key).
# Every command below (manage.py, honcho's web, worker and beat, pytest, mypy) inherits it; set DJANGO_DEBUG=false
# yourself to try production settings (then with DJANGO_SECRET_KEY, see docs/operations.md).
export DJANGO_DEBUG ?= true

.DEFAULT_GOAL := help
.PHONY: help venv run test lint check migrations-check

help:
	@echo "make run               web + Celery worker + beat + simulated marketplaces, demo data, http://127.0.0.1:$(PORT)/admin/"
	@echo "make test [ARGS=...]   the test suite (pytest; ARGS are passed through)"
	@echo "make lint              ruff check"
	@echo "make check             ruff check + ruff format --check + mypy + lint-imports (the layers) + migrations"
	@echo "make migrations-check  fail if a model change has no migration"

venv:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@if cat $(REQUIREMENTS) | sha256sum | cmp -s - $(STAMP); then :; else \
		echo "Installing $(REQUIREMENTS) into $(VENV)"; \
		$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt \
		&& cat $(REQUIREMENTS) | sha256sum > $(STAMP); \
	fi

run: venv
	$(PY) manage.py migrate --noinput
	KEFU_OUTBOUND_ALLOW_PRIVATE=true KEFU_DEMO_PORT=$(PORT) $(PY) manage.py seed_demo
	@echo
	@echo "  kefu is starting: web, Celery worker, Celery beat and the demo's marketplace simulators (Ctrl-C stops all)."
	@echo "  Simulated Taobao and Pinduoduo shops open after-sales cases; they arrive as tickets with the platform's deadline."
	@echo "  Log in at http://127.0.0.1:$(PORT)/admin/ as admin / admin"
	@echo
	KEFU_DEMO_PORT=$(PORT) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start -f Procfile.dev --port $(PORT)

test: venv
	$(PY) -m pytest $(ARGS)

lint: venv
	$(VENV)/bin/ruff check .

# Every static check CI runs: lint, layout, types (strict on kefu.core), the import contract of
# docs/architecture.md, and migrations in step with the models. Each runs even when one before it failed.
check: venv
	@status=0; \
	echo "== ruff check";        $(VENV)/bin/ruff check . || status=1; \
	echo "== ruff format --check"; $(VENV)/bin/ruff format --check . || status=1; \
	echo "== mypy";              $(VENV)/bin/mypy || status=1; \
	echo "== lint-imports";      PYTHONPATH=. $(VENV)/bin/lint-imports --no-cache || status=1; \
	echo "== migrations";        $(PY) manage.py makemigrations --check --dry-run || status=1; \
	exit $$status

migrations-check: venv
	$(PY) manage.py makemigrations --check --dry-run
