# The two commands of the README:
#   make demo   install into .venv and run the demo (a simulated district, patrolled, scored, reported)
#   make test   install into .venv (and the system packages the tests need) and run the whole test suite
#   make lint   ruff (lint, format check) and mypy

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: demo test install system-deps bench lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

demo: install
	$(BIN)/govpulse demo

system-deps:
	bash .ci/system-deps

test: install system-deps
	bash .ci/test

# The figures of docs/benchmarks.md, at the sizes named there.
bench: install
	$(BIN)/python -m benchmarks.roster
	$(BIN)/python -m benchmarks.patrol --accounts 2000 --accounts 10000
	$(BIN)/python -m benchmarks.distributed --accounts 10000
	$(BIN)/python -m benchmarks.scoring --accounts 100000 --posts 5000000 --runs 3
	$(BIN)/python -m benchmarks.scoring --accounts 100000 --posts 5000000 --parts
	$(BIN)/python -m benchmarks.report --accounts 6000
	$(BIN)/python -m benchmarks.report --accounts 100000
	$(BIN)/python -m benchmarks.bulletin --accounts 100000 --cases 20000
	$(BIN)/python -m benchmarks.cases --accounts 100000 --posts 1000000
	$(BIN)/python -m benchmarks.scheduler
	$(BIN)/python -m benchmarks.storage --accounts 100000 --posts 1000000 --nights 30
	$(BIN)/python -m benchmarks.simulator --size 10000 --accounts 2000 --concurrency 32

# Style and types: ruff (lint and formatting) and mypy, configured in pyproject.toml.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache test-artifacts govpulse-demo
