# Two commands do all setup: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-all bench clean

# Reinstall only when the project definition changed.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/losslens --version
	$(BIN)/losslens catalog
	$(BIN)/losslens eval rosenbrock --at 1,1
	$(BIN)/losslens eval saddle --at 0,0
	$(BIN)/losslens eval "x*cos(pi*x)" --at -0.3
	$(BIN)/losslens tour --out losslens-tour
	$(BIN)/losslens points local-minima --time-budget 3

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"
	$(BIN)/python -m pytest -q -m slow || test $$? -eq 5  # 5: no slow tests collected

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_objective.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .hypothesis losslens-tour test-artifacts
