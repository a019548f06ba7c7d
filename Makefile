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

$(VENV)/.fast: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[fast]'
	touch $@ $(VENV)/.runtime

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
browser:
	@sh tools/install-if-missing.sh browser chromium "for the browser test" \
	  "the browser test will be skipped" chromium chromium-browser

unit: $(VENV)/.dev browser
	$(BIN)/coverage run -m pytest -q
	$(BIN)/coverage report

test: lint typecheck unit

# `broadcaster bench`: the engine (with the optional uvloop, broadcaster[fast], measured against
# asyncio's loop too) measured on this machine against baselines run side by side,
# written to benchmarks/RESULTS.md (see benchmarks/README.md); not part of `make test`. Its server
# is Debian's nginx, installed when it is missing and can be (as root, or with passwordless
# sudo); that never fails the build: one line says why not, and the bench uses the sandbox.
bench: $(VENV)/.fast
	@sh tools/install-if-missing.sh bench nginx "the bench's server" \
	  "the bench will use the sandbox, which shares the cores with the engine" nginx
	@# Byte-compiled, as pip installs a package (PYTHONDONTWRITEBYTECODE would otherwise
	@# leave every process of the bench compiling the package before it starts).
	$(BIN)/python -m compileall -q broadcaster
	$(BIN)/broadcaster bench --markdown benchmarks/RESULTS.md

clean:
	rm -rf $(VENV) .demo .mypy_cache .pytest_cache .ruff_cache .coverage
