# l2kit — every target installs what it needs first (idempotent: a second run installs nothing).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TEST_WORKERS ?= 2  # pytest-xdist workers of `make test` (0: one process)
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
SOLCX_DIR := $(CURDIR)/.solcx
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export SOLCX_BINARY_PATH := $(SOLCX_DIR)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup browser-deps browser-test demo test test-all lint fmt bench devnet devnet-full ape-test ape-compile forge-test mutation clean help

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

setup: $(PY_STAMP) $(NODE_STAMP) $(SOLCX_DIR)/solc-v0.8.28 ## install Python and Node toolchains (skips what is present)

$(PY_STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11+"; exit 1; }
	@echo "==> creating $(VENV) and installing l2kit (pinned ape, web3 7)"
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@set -o pipefail; $(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[dev,postgres]' 2>&1 | { grep -v '^WARNING: Location' || true; }
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found; install Node.js 20+"; exit 1; }
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' || { echo "error: Node.js $$(node --version) is too old; the Foundry packages need Node.js 20+"; exit 1; }
	@echo "==> installing Anvil/forge/cast (host platform), solc-js and OpenZeppelin from npm"
	@# npm ci installs exactly package-lock.json and never rewrites it (tracked files stay clean)
	@npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

$(SOLCX_DIR)/solc-v0.8.28: tools/solc
	@mkdir -p $(SOLCX_DIR)
	@ln -sf $(CURDIR)/tools/solc $@

demo: setup ## start a local L1, deploy, run the agents, play the whole scenario
	@$(VENV)/bin/l2kit demo

test: setup ## default suite: forge fuzz/invariant tests, then pytest on Anvil (not slow, 2 workers; < 15 min)
	@$(MAKE) --no-print-directory forge-test
	@$(PY) -m pytest -m "not slow" -q -n $(TEST_WORKERS) --dist loadfile

test-all: setup ## every suite, slow ones included (forge: 1,024 fuzz runs, 160 x 64 = 10,240 invariant calls)
	@FOUNDRY_FUZZ_RUNS=1024 FOUNDRY_INVARIANT_RUNS=160 FOUNDRY_INVARIANT_DEPTH=64 $(MAKE) --no-print-directory forge-test
	@$(PY) -m pytest -q

forge-test: setup ## Solidity fuzz/invariant tests with forge (solc shim)
	@forge test --offline --summary

mutation: setup ## apply each mutant of tests/mutation/mutants.toml to a copy of the tree, run its tests
	@$(PY) scripts/mutation.py $(MUTATION_ARGS)

lint: setup ## ruff + mypy
	@$(VENV)/bin/ruff check offchain tests bench scripts
	@$(VENV)/bin/ruff format --check offchain tests bench scripts
	@$(VENV)/bin/mypy

fmt: setup
	@$(VENV)/bin/ruff format offchain tests bench scripts
	@$(VENV)/bin/ruff check --fix offchain tests bench scripts

bench: setup ## run benchmarks; writes bench/results.json, prints a table, regenerates README's figures
	@$(PY) -m bench.run; rc=$$?; $(PY) scripts/readme_figures.py; exit $$rc

devnet-full: setup ## the whole system (nodes, verifier, EMETH) on fixed ports until Ctrl-C
	@$(VENV)/bin/l2kit devnet up --full

devnet: setup ## Anvil + contracts + storage service until Ctrl-C
	@$(VENV)/bin/l2kit devnet up

ape-compile: setup ## compile with ape-solidity through the solc shim
	@$(VENV)/bin/ape compile

ape-test: setup ## run the test suite under `ape test` (ape's pytest plugin on)
	@$(VENV)/bin/ape test -o addopts=-ra -m "not slow" -q

browser-deps: ## headless Chromium + chromedriver from Debian (the explorer's browser test); skips when present
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
	  echo "chromium and chromedriver present"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "==> installing chromium and chromium-driver (Debian)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "error: chromium missing; run as root: apt-get install chromium chromium-driver"; exit 1; fi

browser-test: setup browser-deps ## the explorer in headless Chromium (slow-marked; screenshots in build/explorer-screenshots/)
	@$(PY) -m pytest -q tests/explorer/test_browser.py

clean:
	rm -rf build out cache .solcx .devnet
