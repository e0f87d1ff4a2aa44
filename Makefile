# Two commands do all setup: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-lowest test-all bench clean

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
	$(BIN)/losslens constrained "(x1-2)^2 + (x2-1)^2" --st "x1 - 2*x2 + 1 = 0" --st "x1^2/4 + x2^2 <= 1" --start 2,2
	$(BIN)/losslens gradflow --model digits-deep-sigmoid --steps 20
	$(BIN)/losslens saddles --max-n 8 --trials 20000 --rare none --hidden 3 --samples 100 --inits 2 --path-steps 10 --out losslens-saddles
	$(BIN)/losslens points local-minima --time-budget 3
	$(BIN)/losslens tour --out losslens-tour

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"
	$(BIN)/python -m pytest -q -m slow || test $$? -eq 5  # 5: no slow tests collected

# The lowest torch the package declares (pyproject: torch>=2.4,<3), in its own venv: installing losslens there must
# leave that torch in place, and a quick subset of the tests must pass on it (numpy<2: torch 2.4 was built on 1.x).
LOW := .venv-torch-lowest
LOW_TORCH := 2.4.1
QUICK := tests/test_objective.py tests/test_model.py tests/test_stochastic.py tests/curvature/test_lanczos.py \
	tests/curvature/test_memory.py tests/curvature/test_operator.py
test-lowest:
	test -x $(LOW)/bin/python || $(PYTHON) -m venv $(LOW)
	$(LOW)/bin/python -m pip install --quiet "torch==$(LOW_TORCH)" "numpy<2"
	$(LOW)/bin/python -m pip install --quiet -e ".[test]"
	$(LOW)/bin/python -c 'import sys, torch; v = torch.__version__.split("+")[0]; \
		sys.exit(None if v == "$(LOW_TORCH)" else f"installing losslens replaced torch $(LOW_TORCH) by {v}")'
	OMP_NUM_THREADS=1 $(LOW)/bin/python -m pytest -q -m "not slow" -p no:cacheprovider $(QUICK)

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"   # benchmark-only peers
	$(BIN)/python -m pip install --quiet --no-deps curvlinops-for-pytorch==3.0.1 hessian-eigenthings==1.0.0a5 \
		backpack-for-pytorch==1.7.1 einops einconv linear_operator opt_einsum unfoldNd tqdm   # no torch swap
	for f in benchmarks/bench_*.py; do echo "== $$f"; OMP_NUM_THREADS=1 $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) $(LOW) build src/*.egg-info .pytest_cache .hypothesis losslens-tour test-artifacts losslens-landscape.png losslens-landscape.html losslens-saddles
