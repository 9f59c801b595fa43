# The dev loop. Every target installs what it needs first (idempotent: a stamp per pyproject.toml version).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint typecheck eval bench clean

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

run: install  ## serve the default corpus on http://$(HOST):$(PORT) (builds the index on first start)
	$(VENV)/bin/qa serve --host $(HOST) --port $(PORT)

test: install
	$(VENV)/bin/python -m pytest -q

lint: install
	$(VENV)/bin/ruff check index qa api tests bench

typecheck: install
	$(VENV)/bin/mypy index qa api

eval: install  ## regenerates docs/QUALITY.md
	$(VENV)/bin/python -m bench.quality

bench: install  ## regenerates docs/BENCHMARKS.md (add ARGS=--quick for a CI-sized run; GROWTH=1000 for a short growth table)
	$(VENV)/bin/python -m bench.run $(ARGS)
	$(VENV)/bin/python -m bench.growth --sizes $(GROWTH)

GROWTH ?= 1000,10000

clean:
	rm -rf .citeqa .pytest_cache .mypy_cache .ruff_cache
