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
	$(BIN)/losslens basins himmelblau --method gd --starts 2500 --steps 500
	$(BIN)/losslens convex "log(1 + exp(x)) + (x - y)^2"
	$(BIN)/losslens landscape himmelblau --grid 101 --plot losslens-landscape.png --plot losslens-landscape.html
	$(BIN)/losslens constrained "(x1-2)^2 + (x2-1)^2" --st "x1 - 2*x2 + 1 = 0" --st "x1^2/4 + x2^2 <= 1" --x0 2,2
	$(BIN)/losslens gradflow --model digits-deep-sigmoid --steps 20
	$(BIN)/losslens saddles --max-n 8 --trials 20000 --rare none --hidden 3 --samples 100 --inits 2 --path-steps 10 --out losslens-saddles
	$(BIN)/losslens points local-minima --time-budget 3
	$(BIN)/losslens tour --out losslens-tour

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"
	$(BIN)/python -m pytest -q -m slow || test $$? -eq 5  # 5: no slow tests collected

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"   # benchmark-only peers
	for f in benchmarks/bench_*.py; do echo "== $$f"; OMP_NUM_THREADS=1 $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .hypothesis losslens-tour test-artifacts losslens-landscape.png losslens-landscape.html losslens-saddles
