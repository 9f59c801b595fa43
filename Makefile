# The dev loop. Every target installs what it needs first (idempotent: a stamp per pyproject.toml version).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-fast check fmt lint typecheck eval bench fuzz clean milvus-versions

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	# torch first, pinned: an unpinned torch pulls a multi-GB CUDA build
	$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev,milvus]'
	# the default embedder's ONNX export (int8), made once from the packaged weights and cached
	$(PY) -c "from index.embed_onnx import ensure_onnx; ensure_onnx(True)"
	rm -f $(VENV)/.installed-*
	touch $@

run: install  ## serve the default corpus on http://$(HOST):$(PORT) (builds the index on first start; the write key is made once and kept in the index folder unless CITEQA_API_KEY is set)
	$(VENV)/bin/qa serve --host $(HOST) --port $(PORT) --create-key

# Milvus's own engine at 2.4 and 2.5 (milvus-lite 2.x embeds it; 3.x, the default, is a Python rewrite), each in its
# folder for tests/test_milvus_versions.py (on PYTHONPATH there; pkg_resources, which 2.x imports, from setuptools<70)
MILVUS_LITE_VERSIONS := 2.4.12 2.5.1
milvus-versions: install
	for v in $(MILVUS_LITE_VERSIONS); do test -f .milvus-versions/$$v/.done || { rm -rf .milvus-versions/$$v && \
		$(PY) -m pip install -q --disable-pip-version-check --no-deps --target .milvus-versions/$$v \
		milvus-lite==$$v 'setuptools<70' && touch .milvus-versions/$$v/.done; } || exit 1; done

test: install milvus-versions  ## every test: the real model, servers, Chromium, Milvus (2.3 server; 2.4, 2.5, 3.x lite)
	$(VENV)/bin/python -m pytest -q

test-fast: install  ## no model, no server, no browser: the plumbing in seconds
	$(VENV)/bin/python -m pytest -q -m "not slow and not browser and not milvus"

check: install  ## what CI and pre-commit check: lint, format, strict types (tests and bench: types, not strict)
	$(VENV)/bin/ruff check index qa api cli tests bench
	$(VENV)/bin/ruff format --check index qa api cli tests bench
	$(VENV)/bin/mypy --strict index qa api cli
	$(VENV)/bin/mypy tests bench

fmt: install
	$(VENV)/bin/ruff format index qa api cli tests bench
	$(VENV)/bin/ruff check --fix index qa api cli tests bench

lint: install
	$(VENV)/bin/ruff check index qa api cli tests bench

typecheck: install
	$(VENV)/bin/mypy --strict index qa api cli

eval: install  ## regenerates docs/QUALITY.md
	$(VENV)/bin/python -m bench.quality

bench: install  ## regenerates docs/BENCHMARKS.md (add ARGS=--quick for a CI-sized run; GROWTH=1000 for a short growth table)
	$(VENV)/bin/python -m bench.run $(ARGS)
	$(VENV)/bin/python -m bench.growth --sizes $(GROWTH)

GROWTH ?= 1000,10000

fuzz: install  ## hostile clients against a real qa serve; replaces the "Hostile clients" section of docs/BENCHMARKS.md (ARGS=--quick: CI-sized)
	$(VENV)/bin/python -m bench.fuzz $(ARGS)

clean:
	rm -rf .citeqa .pytest_cache .mypy_cache .ruff_cache
