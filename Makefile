# Co-op My Page. `make run` serves the demo; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CHROMIUM ?= /usr/bin/chromium
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck migrations system-deps bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/mypage migrate
	$(BIN)/mypage demo --if-empty
	$(BIN)/mypage serve --host $(HOST) --port $(PORT)

# Debian packages the tests need: Chromium for the browser tests, a Japanese
# TrueType font for PDFs and poppler to read them back. Installed with apt
# when missing and running as root; otherwise set CHROMIUM to a browser.
system-deps:
	@missing=""; \
	test -x $(CHROMIUM) || missing="$$missing chromium"; \
	test -f /usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf || missing="$$missing fonts-ipaexfont-gothic"; \
	command -v pdftoppm >/dev/null || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing system packages:$$missing (install them, or set CHROMIUM)"; exit 1; \
	  fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check server tests bench

typecheck: $(STAMP)
	$(BIN)/mypy server

test: $(STAMP) system-deps lint typecheck
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -q -p no:cacheprovider

# After changing models: write the migration, then review it like code.
migrations: $(STAMP)
	$(BIN)/tortoise -c server.db.MIGRATIONS_CONFIG makemigrations

bench: $(STAMP)
	$(BIN)/python bench/foundation_bench.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
