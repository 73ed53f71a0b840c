# Both targets build their own virtual environment from scratch (python3 -m venv) and
# install the project with pip: nothing needs to be installed by hand beforehand.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/certreg demo

test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/pytest

bench: $(BIN)/.installed
	$(BIN)/python bench/bench_proofs.py

clean:
	rm -rf $(VENV) build *.egg-info
