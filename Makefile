# One entry point for people and CI. `make run` and `make check` set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

# buf checks the public API (buf.yaml). Pinned; installed from npm into .tools/ (git-ignored).
BUF_VERSION := 1.75.0
NPM ?= npm
TOOLS := .tools
BUF := $(TOOLS)/node_modules/.bin/buf
# google/type/*.proto from the googleapis-common-protos pip package, for buf's imports.
BUILD := .build
PROTO_DEPS := $(BUILD)/proto-deps
# The committed image of the v1 API that `make buf-breaking` compares against.
API_IMAGE := protos/api-v1.binpb

.PHONY: run check test lint format typecheck imports proto proto-check proto-deps buf-lint \
	buf-breaking api-snapshot bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

## run: development PKI (kept if present), SQLite, partners/ — then serve over mutual TLS.
run: $(VENV)/.installed
	$(BIN)/aeo-gateway certs init
	$(BIN)/aeo-gateway serve

## check: everything CI runs: lint, format, types, import contracts, generated code, API lint
## and breaking-change check, tests.
check: lint typecheck imports proto-check buf-lint buf-breaking test

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

imports: $(VENV)/.installed-dev
	$(BIN)/lint-imports

test: $(VENV)/.installed-dev
	$(PY) -m pytest --cov --cov-report=term

## proto: regenerate gateway/pb from protos/aeo/gateway/v1 (never edit gateway/pb by hand).
proto: $(VENV)/.installed-dev
	PATH=$(BIN):$$PATH $(PY) tools/genproto.py

proto-check: $(VENV)/.installed-dev
	PATH=$(BIN):$$PATH $(PY) tools/genproto.py --check

$(TOOLS)/.buf-$(BUF_VERSION):
	@command -v $(NPM) >/dev/null 2>&1 || { echo "$(NPM) not found: install Node.js with npm to get buf $(BUF_VERSION)" >&2; exit 1; }
	$(NPM) install --prefix $(TOOLS) --save-exact --ignore-scripts --no-audit --no-fund @bufbuild/buf@$(BUF_VERSION)
	touch $@

proto-deps: $(VENV)/.installed
	rm -rf $(PROTO_DEPS)
	mkdir -p $(PROTO_DEPS)/google/type
	cp "$$($(PY) -c 'import os, google.type.date_pb2 as m; print(os.path.dirname(m.__file__))')"/*.proto \
		$(PROTO_DEPS)/google/type/

## buf-lint: lint the API protos (STANDARD and COMMENTS rules, no exceptions).
buf-lint: $(TOOLS)/.buf-$(BUF_VERSION) proto-deps
	$(BUF) lint protos

## buf-breaking: fail on a breaking change against the committed API image.
buf-breaking: $(TOOLS)/.buf-$(BUF_VERSION) proto-deps
	$(BUF) breaking protos --against $(API_IMAGE) --exclude-imports

## api-snapshot: rewrite the committed API image (only for a deliberate API change).
api-snapshot: $(TOOLS)/.buf-$(BUF_VERSION) proto-deps
	$(BUF) build protos --exclude-source-info -o $(API_IMAGE)

bench: $(VENV)/.installed-dev
	$(PY) -m bench.ingest --formats native,xmldsig,jws
	$(PY) -m bench.xmldsig
	$(PY) -m bench.jws
	$(PY) -m bench.recognition
	$(PY) -m bench.hostile
	$(PY) -m bench.outbound

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .coverage $(TOOLS) $(BUILD)

## docker-image: the image aeo-gateway:latest with no network inside the build and no registry:
## the local base image first when missing (docker/build-base.sh, debootstrap, as root), then
## the wheels on the host (.build/wheels/), then docker build --network=none (docker/build-image.sh).
.PHONY: docker-base docker-image
docker-base:
	docker/build-base.sh

docker-image: $(VENV)/.installed
	PYTHON=$(PY) docker/build-image.sh
