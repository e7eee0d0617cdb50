# `make demo` and `make test` work on a fresh clone: they create .venv and install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The map page's third-party assets (Leaflet, country outlines) come from the npm registry at
# build time and are served from the package at run time: the page loads nothing from outside.
VENDOR := crawler/api/static/vendor
VENDOR_STAMP := $(VENDOR)/.built
NODE_MODULES := web/node_modules

.PHONY: demo test lint typecheck unit install static browser bench clean

# Order-only: new assets need no reinstall of the (editable) package, only a rebuild of theirs.
$(STAMP): pyproject.toml | $(VENDOR_STAMP)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(VENDOR_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	sh web/vendor.sh $(VENDOR)
	touch $@

static: $(VENDOR_STAMP)

# The browser tests drive Debian's Chromium (Playwright's own browser builds cannot be fetched).
browser:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium)

demo: $(STAMP)
	$(BIN)/python -m crawler.demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

# The tests start the command line as a subprocess hundreds of times; where
# PYTHONDONTWRITEBYTECODE is set, each would compile the crawler's modules again.
unit: $(STAMP) browser
	$(BIN)/python -m compileall -q crawler storage
	$(BIN)/pytest -q

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python benchmarks/crawl_benchmark.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache $(VENDOR) $(NODE_MODULES)
