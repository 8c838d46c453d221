"""Speed and memory scripts: each prints the figures quoted in the README and docs.

Run from a clone (they are not part of the installed package), e.g.
``python -m benchmarks.perf.two_stage``.
"""
