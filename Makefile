# The project's scripts. CI calls the same targets.
VENV := .venv
PY := $(VENV)/bin/python
COMPOSE_PROJECT ?= jwtkit

.PHONY: install run test lint e2e bench up down logs lock

$(PY): pyproject.toml requirements.lock
	scripts/install

install:
	scripts/install

run: $(PY)
	scripts/run

test: $(PY)
	$(PY) -m pytest

lint: $(PY)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

e2e: $(PY)
	$(PY) -m pytest -m e2e tests/e2e

bench: $(PY)
	$(PY) -m benchmarks

up:
	docker compose up --build -d --wait

down:
	docker compose down

logs:
	docker compose logs -f

# Re-resolves the pinned versions after a dependency change in pyproject.toml.
lock:
	scripts/lock
