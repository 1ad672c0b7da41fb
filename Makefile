# Tend: `make demo` to try it, `make test` to test it. Needs only Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# Test workers: pytest-xdist's count of CPUs unless told otherwise.
TEST_WORKERS ?= auto

.PHONY: install demo run test bench vendor clean-data

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tend needs Python 3.11 or newer; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

demo: install  ## install, migrate, seed the demo organizations and run web + worker + beat
	$(PY) manage.py serve --seed-demo

run: install  ## the same without re-seeding
	$(PY) manage.py serve

test: install  ## import contracts (pyproject.toml), then the whole suite (embedded PostgreSQL/Redis unless DATABASE_URL/REDIS_URL are set)
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

bench: install  ## every benchmark, or one: make bench ONLY=<name>
	$(PY) bench/run.py $(ONLY)

# Chart.js's source-map comment is dropped: the map is not shipped, and collectstatic's
# manifest storage would fail on the file it names.
vendor:  ## refresh the front-end libraries served as our own static files
	cd /tmp && rm -rf tend-vendor && mkdir tend-vendor && cd tend-vendor && \
	  npm pack --silent htmx.org@2.0.11 @picocss/pico@2.1.1 chart.js@4.6.1 && \
	  tar xzf htmx.org-2.0.11.tgz && cp package/dist/htmx.min.js $(CURDIR)/cs_platform/static/vendor/htmx.min.js && rm -rf package && \
	  tar xzf picocss-pico-2.1.1.tgz && cp package/css/pico.min.css $(CURDIR)/cs_platform/static/vendor/pico.min.css && rm -rf package && \
	  tar xzf chart.js-4.6.1.tgz && sed '/^\/\/# sourceMappingURL=/d' package/dist/chart.umd.min.js > $(CURDIR)/cs_platform/static/vendor/chart.umd.min.js

clean-data:  ## forget the embedded servers' data (stop `make demo` first)
	rm -rf .tend
