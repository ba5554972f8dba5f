# Bazaar developer commands. Everything runs in .venv, which the first command creates.
#   make run     the shop with demo data on http://127.0.0.1:8000/ (PORT=8001 make run)
#   make test    the whole test suite (make test ARGS="catalog -x" for a part)
#   make lint    ruff check, format check and mypy
#   make bench   benchmarks (bench/run.py)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Touched after a successful install: pip runs again only when pyproject.toml is newer.
STAMP  := $(VENV)/.bazaar-installed
ARGS   ?=

.DEFAULT_GOAL := help
.PHONY: help install run test lint format bench clean chromium

help:
	@sed -n 's/^#   //p' Makefile

install: $(STAMP)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Bazaar needs Python 3.11 or newer (PYTHON=$(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: $(STAMP)
	$(BIN)/python scripts/run.py

# The shop uses three Redis databases from --redis-db N on (cache N, sessions N+1, broker N+2):
# `make run` 0-2, `make bench` 7-12, `make test` 13-15, so none clears or consumes another's.
test: $(STAMP) chromium
	$(BIN)/python scripts/services.py --redis-db 13 -- $(BIN)/python -m pytest -q $(ARGS)

# The browser test (tests/test_browser.py) drives Debian's chromium through Playwright, whose
# own browser download is never used. Installed here when missing and apt-get can run as
# root; otherwise (or if the install fails) that one test is skipped, saying why.
CHROMIUM ?= /usr/bin/chromium
chromium:
	@if [ ! -x "$(CHROMIUM)" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "bazaar: installing Debian's chromium for the browser test"; \
		{ apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
			|| echo "bazaar: chromium could not be installed: the browser test will be skipped"; \
	fi

# mypy's Django plugin loads settings, which need DEBUG (or a SECRET_KEY) to import.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=true $(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python scripts/services.py --redis-db 7 -- $(BIN)/python bench/run.py $(ARGS)

clean:
	rm -rf $(VENV) .data staticfiles *.egg-info
