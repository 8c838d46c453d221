# Two commands set everything up on a fresh machine: `make leaderboard` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-slow lint leaderboard bench clean

$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned, so nothing pulls the CUDA build
	$(BIN)/python -m pip install --quiet -c constraints.txt torch
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check .

# The quick suites (resumable: finished cells in results/leaderboard are skipped; delete
# the folder for a fresh run), then the ranked tables, plots and benchmarks/LEADERBOARD.md.
leaderboard: $(STAMP)
	$(BIN)/python -m benchmarks run two_stage prompt sequential --size quick --workers 2 --out results/leaderboard
	$(BIN)/python -m benchmarks leaderboard results/leaderboard --markdown benchmarks/LEADERBOARD.md --title "Leaderboard (quick suites)"

bench: $(STAMP)
	$(BIN)/python benchmarks/perf_two_stage.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
