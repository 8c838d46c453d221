# Two commands set everything up on a fresh machine: `make leaderboard` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every pip call installs the exact versions of constraints.txt.
PIP := $(BIN)/python -m pip install --progress-bar off -c constraints.txt
BOARD_DIR := results/leaderboard
ARGS ?= --help

.PHONY: install test test-slow lint leaderboard refresh-leaderboard experiments experiment-tables recsim-bench bench perf-compare clean

$(STAMP): setup.cfg pyproject.toml constraints.txt
	@echo "[install 1/4] virtual environment in $(VENV)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "[install 2/4] pip"
	$(BIN)/python -m pip install --progress-bar off --upgrade pip
	@echo "[install 3/4] torch (CPU build, pinned, first: nothing may pull the CUDA build)"
	$(PIP) torch
	@echo "[install 4/4] recsim_envs and its pinned dependencies, test tools, Ray and Minari"
	$(PIP) -e ".[dev]"
	touch $(STAMP)
	@echo "[install] done: $(BIN)/python, $(BIN)/recsim-bench"

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check .

# The quick suites (resumable: finished cells in results/leaderboard are skipped; delete
# the folder for a fresh run), then the ranked tables, plots and
# results/leaderboard/LEADERBOARD.md. Writes nothing tracked by git.
leaderboard: $(STAMP)
	$(BIN)/python -m benchmarks run two_stage prompt sequential --size quick --workers 2 --out $(BOARD_DIR)
	$(BIN)/python -m benchmarks leaderboard $(BOARD_DIR) --markdown $(BOARD_DIR)/LEADERBOARD.md --title "Leaderboard (quick suites)"

# The only target that changes the committed board: copy the one `make leaderboard` made.
refresh-leaderboard: leaderboard
	cp $(BOARD_DIR)/LEADERBOARD.md benchmarks/LEADERBOARD.md
	@echo "benchmarks/LEADERBOARD.md refreshed from $(BOARD_DIR)/LEADERBOARD.md"

# The research tables of the README and docs: one spec per experiment under experiments/,
# its rows committed in experiments/NAME/, its table (with the spec's claims) generated from
# them. `make experiment-tables` rebuilds every table from the committed rows (seconds);
# `make experiments` re-runs the specs first (resumable: finished cells are skipped; hours
# from scratch). One experiment: make experiments EXPERIMENTS=experiments/prompt_dso.toml
EXPERIMENTS ?= $(wildcard experiments/*.toml)
experiments: $(STAMP)
	@for spec in $(EXPERIMENTS); do \
	  name=$$(basename $$spec .toml); \
	  echo "[experiments] $$name"; \
	  $(BIN)/python -m benchmarks run $$spec --out experiments/$$name --workers 2 || exit $$?; \
	done
	$(MAKE) experiment-tables EXPERIMENTS="$(EXPERIMENTS)"

experiment-tables: $(STAMP)
	@for spec in $(EXPERIMENTS); do \
	  name=$$(basename $$spec .toml); \
	  $(BIN)/python -m benchmarks leaderboard experiments/$$name --claims $$spec --no-plots \
	    --markdown experiments/$$name/TABLE.md --title "Experiment $$name" > /dev/null || exit $$?; \
	  echo "[experiments] experiments/$$name/TABLE.md"; \
	done

# The benchmark command line without activating the venv:
#   make recsim-bench ARGS="run two_stage --size quick --out results/bench"
recsim-bench: $(STAMP)
	$(BIN)/recsim-bench $(ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.perf.two_stage

# RecoGym, SARDINE and OBP side by side with this suite (benchmarks/perf/compare.py). They
# are not dependencies: pinned copies go into results/compare-site (--no-deps: their own pins,
# e.g. OBP's numpy 1.23 and Python < 3.11, would replace the suite's; what they need beyond
# the suite's packages is listed here).
COMPARE_SITE := results/compare-site
perf-compare: $(STAMP)
	test -f $(COMPARE_SITE)/.installed || ( $(BIN)/python -m pip install --progress-bar off \
	  --no-deps --ignore-requires-python --target $(COMPARE_SITE) obp==0.5.7 \
	  scikit-learn==1.9.1 narwhals==2.29.0 joblib==1.6.0 threadpoolctl==3.8.0 \
	  seaborn==0.13.2 sardine-rec==1.0.8 recogym==0.1.3.0 gym==0.26.2 gym-notices==0.1.0 \
	  cloudpickle==3.1.3 numba==0.68.1 llvmlite==0.50.0 && touch $(COMPARE_SITE)/.installed )
	PYTHONPATH=$(COMPARE_SITE) $(BIN)/python -m benchmarks.perf.compare

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
