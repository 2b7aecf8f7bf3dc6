# Copylift: `make run` serves the platform, `make test` runs the suite. Both set up everything
# first (virtual environment, packages, database), so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install migrate seed run serve test bench lint format clean

$(STAMP): requirements.txt requirements-dev.txt requirements-nodeps.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo --llm
	$(PY) manage.py ensure_admin

run: seed serve

serve: install
	HOST=$(HOST) PORT=$(PORT) PY=$(PY) bash bin/serve

test: install
	$(PY) -m pytest

bench: install
	@for script in bench/assign.py bench/ingest.py bench/generate.py bench/closed_words.py bench/report.py bench/load.py bench/closed_loop.py; do \
	  if [ -f $$script ]; then echo "== $$script"; $(PY) $$script || exit 1; fi; \
	done

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var
