"""docs/architecture.md's dependency graph is the code's (regenerate it with
``.venv/bin/python -m tests.architecture_graph``), and the layering it shows holds."""

from __future__ import annotations

from tests.architecture_graph import DOC, edges, render


def test_the_architecture_graph_in_the_docs_is_current():
    text = DOC.read_text()
    assert render(text) == text, "run: .venv/bin/python -m tests.architecture_graph"


def test_layers_depend_downwards_only():
    graph = edges()
    # the library never imports the agents or the benchmark tool (its examples are user
    # code installed with it: they import the agents, and nothing imports them)
    assert not {(a, b) for a, b in graph if a.startswith("recsim_envs")
                and a != "recsim_envs.examples" and b.split(".")[0] in ("agents", "benchmarks")}
    assert not {a for a, b in graph if b == "recsim_envs.examples"}
    # agents never import the benchmark tool
    assert not {(a, b) for a, b in graph if a.startswith("agents") and b.startswith("benchmarks")}
    # the shared core imports no family, and families do not import each other
    families = ("recsim_envs.two_stage", "recsim_envs.prompt", "recsim_envs.sequential")
    assert not {b for a, b in graph if a == "recsim_envs.core" and b != "recsim_envs.core"}
    assert not {(a, b) for a, b in graph if a in families and b in families}
