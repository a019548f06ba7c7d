# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck unit browser bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# A stamp per install flavour, remade when pyproject.toml changes.
$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.runtime

DEMO_OPTIONS := --text "Hi {{first_name}}, Bay Dental here: see you {{appointment}} at our {{clinic}} clinic. Reply C to confirm."

# Validates the sample campaign, sends it to the in-process sandbox at the default rate, reports.
demo: $(VENV)/.runtime
	$(BIN)/broadcaster validate sample_data/campaign.csv $(DEMO_OPTIONS)
	@mkdir -p .demo && rm -f .demo/campaign.results.jsonl
	$(BIN)/broadcaster send sample_data/campaign.csv --sandbox --results .demo/campaign.results.jsonl $(DEMO_OPTIONS)
	$(BIN)/broadcaster report .demo/campaign.results.jsonl --html .demo/report.html
	@echo "demo: the report as a page to forward: .demo/report.html"

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy

# Debian's chromium for the browser test of `report --html`, installed when it is missing and
# can be (as root, or with passwordless sudo); never fails the build: one line says why not.
CHROMIUM_INSTALL := env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  skip="the browser test will be skipped"; \
	  if [ "$$(id -u)" = 0 ]; then as=""; \
	  elif sudo -n true >/dev/null 2>&1; then as="sudo -n"; \
	  else echo "browser: chromium is missing and this user cannot install it (no root, no passwordless sudo): $$skip"; exit 0; fi; \
	  if ! command -v apt-get >/dev/null 2>&1; then echo "browser: chromium is missing and there is no apt-get: $$skip"; exit 0; fi; \
	  echo "browser: installing Debian's chromium for the browser test"; \
	  $$as $(CHROMIUM_INSTALL) >/dev/null 2>&1 \
	    || { $$as apt-get update -qq >/dev/null 2>&1 && $$as $(CHROMIUM_INSTALL) >/dev/null 2>&1; } \
	    || echo "browser: apt-get could not install chromium: $$skip"; \
	}

unit: $(VENV)/.dev browser
	$(BIN)/coverage run -m pytest -q
	$(BIN)/coverage report

test: lint typecheck unit

# `broadcaster bench`: the engine measured on this machine against baselines run side by side,
# written to benchmarks/RESULTS.md (see benchmarks/README.md); not part of `make test`. Its server
# is Debian's nginx, installed when it is missing and can be (as root, or with passwordless
# sudo); that never fails the build: one line says why not, and the bench uses the sandbox.
NGINX_INSTALL := env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx
bench: $(VENV)/.runtime
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
	  instead="the bench will use the sandbox, which shares the cores with the engine"; \
	  if [ "$$(id -u)" = 0 ]; then as=""; \
	  elif sudo -n true >/dev/null 2>&1; then as="sudo -n"; \
	  else echo "bench: nginx is missing and this user cannot install it (no root, no passwordless sudo): $$instead"; exit 0; fi; \
	  if ! command -v apt-get >/dev/null 2>&1; then echo "bench: nginx is missing and there is no apt-get: $$instead"; exit 0; fi; \
	  echo "bench: installing Debian's nginx, the bench's server"; \
	  $$as $(NGINX_INSTALL) >/dev/null 2>&1 \
	    || { $$as apt-get update -qq >/dev/null 2>&1 && $$as $(NGINX_INSTALL) >/dev/null 2>&1; } \
	    || echo "bench: apt-get could not install nginx: $$instead"; \
	}
	$(BIN)/broadcaster bench --markdown benchmarks/RESULTS.md

clean:
	rm -rf $(VENV) .demo .mypy_cache .pytest_cache .ruff_cache .coverage
