"""Code blocks of the docs run as written, so they cannot go stale.

In each Markdown file listed below, the ```python blocks and the shell blocks marked
```bash test run in order, in one empty directory with the installed package and no
``PYTHONPATH`` (as a new user runs them):
python blocks share one namespace; shell blocks run with ``bash -e``. Files listed with
marker "test" (the README) run only python blocks whose info string includes "test"
(```python test), so the README's author chooses which examples are executed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.S | re.M)

# (file, marker): marker None runs every python block and the "bash test" blocks.
DOC_FILES = [
    ("docs/quickstart.md", None),
    ("docs/benchmarks.md", None),
    ("docs/scale.md", None),
    ("README.md", "test"),
]


def code_blocks(text: str, marker: str | None) -> list[tuple[str, str]]:
    """[(language, code)] of the blocks to run, in order."""
    blocks = []
    for info, code in FENCE.findall(text):
        words = info.strip().split()
        if not words:
            continue
        lang, flags = words[0], set(words[1:])
        if lang == "python" and (marker is None or marker in flags) and "no-run" not in flags:
            blocks.append(("python", code))
        elif lang in ("bash", "sh", "console") and "test" in flags:
            blocks.append(("bash", code))
    return blocks


def test_the_block_extractor_follows_the_markers():
    text = "```python\na = 1\n```\n```python no-run\nb\n```\n```bash test\necho\n```\n" \
           "```bash\nrm -rf /\n```\n```python test\nc = 2\n```\n"
    assert code_blocks(text, None) == [("python", "a = 1\n"), ("bash", "echo\n"),
                                       ("python", "c = 2\n")]
    assert code_blocks(text, "test") == [("bash", "echo\n"), ("python", "c = 2\n")]


@pytest.mark.parametrize("name, marker", DOC_FILES, ids=[f for f, _ in DOC_FILES])
def test_doc_code_blocks_run(name, marker, tmp_path, monkeypatch):
    path = ROOT / name
    if not path.exists():
        pytest.skip(f"{name} does not exist yet")
    blocks = code_blocks(path.read_text(), marker)
    if not blocks:
        pytest.skip(f"{name} has no blocks marked to run")
    # As a new user runs them: in an empty folder, with the package installed and nothing
    # of the clone on the path (no PYTHONPATH), so a block that works only inside the clone
    # fails here.
    monkeypatch.chdir(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    # A real module, so that classes defined in the blocks (dataclasses) can find it.
    module = types.ModuleType("doc_blocks")
    monkeypatch.setitem(sys.modules, "doc_blocks", module)
    for i, (lang, code) in enumerate(blocks):
        if lang == "python":
            exec(compile(code, f"{name}[block {i}]", "exec"), module.__dict__)
        else:
            out = subprocess.run(["bash", "-e", "-c", code], cwd=tmp_path, env=env,
                                 capture_output=True, text=True, timeout=600)
            assert out.returncode == 0, f"{name} block {i} failed:\n{out.stdout}\n{out.stderr}"


def test_the_documented_plug_in_agent_is_the_example_file():
    blocks = [code for lang, code in code_blocks((ROOT / "docs/benchmarks.md").read_text(), None)
              if lang == "python" and "class PopularIPS" in code]
    assert len(blocks) == 1
    assert blocks[0] in (ROOT / "recsim_envs/examples/my_agent.py").read_text()
