# Chính quyền số — two commands for a newcomer: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Debian packages the platform needs at run time, and for the browser tests.
APT_RUNTIME := libmagic1 gettext fonts-dejavu-core fonts-liberation2 libpango-1.0-0 libpangoft2-1.0-0 \
	softhsm2 opensc
APT_TEST := chromium poppler-utils

.PHONY: demo test install install-dev apt apt-test lint format bench clean

demo: install
	$(VENV)/bin/cqs demo

test: install-dev
	scripts/run-tests

install: apt $(VENV)/.installed

install-dev: apt apt-test $(VENV)/.installed-dev

apt:
	@scripts/apt-ensure $(APT_RUNTIME)

apt-test:
	@scripts/apt-ensure $(APT_TEST)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install-dev
	$(PY) bench/run.py

clean:
	rm -rf var/ .pytest_cache
