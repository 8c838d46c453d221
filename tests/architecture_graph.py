"""The package dependency graph of the suite, generated from the code's imports.

``python -m tests.architecture_graph`` rewrites the generated block of docs/architecture.md;
``tests/test_architecture_doc.py`` fails when the block is not current. Nodes are the
packages of the layout (issue 13); an edge A --> B means some module of A imports one of B
(at module level or inside a function).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = "<!-- generated: begin -->", "<!-- generated: end -->"

NODES = (
    "recsim_envs.core", "recsim_envs.two_stage", "recsim_envs.prompt", "recsim_envs.sequential",
    "recsim_envs.worlds", "recsim_envs.data", "recsim_envs.evaluation", "recsim_envs.ope",
    "recsim_envs", "recsim_envs.examples", "agents.two_stage", "agents.prompt",
    "agents.sequential", "agents",
    "benchmarks.families", "benchmarks",
)
"""Longest prefix first wins: ``recsim_envs`` and ``agents`` stand for their top-level
modules (registration, families; the agent base, registry, networks, reference agents).
``recsim_envs.examples`` is user code shipped with the package: it sits above the agents."""


def node_of(module: str) -> str | None:
    for node in sorted(NODES, key=len, reverse=True):
        if module == node or module.startswith(node + "."):
            return node
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def edges() -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for top in ("recsim_envs", "agents", "benchmarks"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "perf" in path.parts:  # speed scripts, not the product
                continue
            src = node_of(module_name(path))
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names = [node.module]
                for name in names:
                    dst = node_of(name)
                    if src and dst and dst != src:
                        out.add((src, dst))
    return out


def mermaid() -> str:
    ids = {n: n.replace(".", "_") for n in NODES}
    lines = ["```mermaid", "graph LR"]
    lines += [f'  {ids[n]}["{n}"]' for n in NODES]
    lines += [f"  {ids[a]} --> {ids[b]}" for a, b in sorted(edges())]
    lines.append("```")
    return "\n".join(lines)


def render(text: str) -> str:
    """``text`` (the doc) with its generated block replaced by the current graph."""
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{mermaid()}\n{END}{tail}"


def main() -> int:
    DOC.write_text(render(DOC.read_text()))
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
