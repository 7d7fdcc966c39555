# The project's scripts. CI calls the same targets.
VENV := .venv
PY := $(VENV)/bin/python
COMPOSE_PROJECT ?= jwtkit

.PHONY: install run test test-fast lint docs docs-build e2e e2e-ha bench up down up-ha down-ha logs lock

$(PY): pyproject.toml requirements.lock
	scripts/install

install:
	scripts/install

run: $(PY)
	scripts/run

# The full suite; tests on PostgreSQL are skipped (and say how to install it) without a server.
# PYTEST_ARGS adds options (CI asks for the slowest tests).
test: $(PY)
	$(PY) -m pytest $(PYTEST_ARGS)

# The inner loop: no real processes, terminals or PostgreSQL.
test-fast: $(PY)
	$(PY) -m pytest -m "not e2e and not slow and not postgres"

lint: $(PY)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The documentation site (mkdocs.yml, docs/): served on loopback, rebuilt on every change.
docs: $(PY)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:8008

# CI's build: a broken link, anchor or include fails it.
docs-build: $(PY)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

e2e: $(PY)
	$(PY) -m pytest -m "e2e and not e2e_ha" $(PYTEST_ARGS) tests/e2e

# Fault tests against the HA stack (docker-compose.ha.yml); CI sets POSTGRES_IMAGE/NGINX_IMAGE.
e2e-ha: $(PY)
	$(PY) -m pytest -m e2e_ha $(PYTEST_ARGS) tests/e2e

bench: $(PY)
	$(PY) -m benchmarks

up:
	docker compose up --build -d --wait

down:
	docker compose down

HA_COMPOSE := docker compose -f docker-compose.yml -f docker-compose.ha.yml

up-ha:
	$(HA_COMPOSE) up --build -d --wait

down-ha:
	$(HA_COMPOSE) down

logs:
	docker compose logs -f

# Re-resolves the pinned versions after a dependency change in pyproject.toml.
lock:
	scripts/lock
