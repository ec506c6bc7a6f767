"""The layering holds: folders import down the order :data:`LAYERS` writes down (the architecture page shows
the same order), no import circles among the package's modules, no function-local imports of its own
modules (outside the CLI, which loads its commands lazily), and the runtime acts with torch, Gymnasium,
pydantic and onnxscript unimportable."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np
import pytest

import waiting
from implicit_policy import ImplicitPolicy, export_argmin
from implicit_policy.training.trainer import train
from tiny import tiny_config

SRC = Path(__file__).resolve().parents[1] / "src"
OWN = ("implicit_policy", "implicit_policy_envs")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The project modules an import statement names (``from pkg import submodule`` counts the submodule)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in known]
    base = node.module or ""
    if node.level:
        anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
        base = ".".join(anchor + ([base] if base else []))
    found = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
    return found or ([base] if base in known else [])


def import_graph() -> tuple[dict[str, set[str]], list[str]]:
    """Module-level imports between the project's modules, and every function-local import of one."""
    files = {module_name(p): p for p in SRC.rglob("*.py")}
    known = set(files)
    graph: dict[str, set[str]] = {m: set() for m in files}
    local: list[str] = []
    for module, path in files.items():
        tree = ast.parse(path.read_text())
        top = set(map(id, tree.body))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            targets = imported(node, module, path.name == "__init__.py", known)
            if id(node) in top:
                graph[module] |= set(targets)
            elif targets and module != "implicit_policy.cli":
                local.append(f"{module}:{node.lineno} imports {', '.join(targets)} inside a function")
    return graph, local


LAYERS: list[set[str]] = [
    {"atomic", "frozen_config", "extras", "figures", "registry", "version"},  # helpers every layer may use
    {"runtime"},  # acting without torch: numpy and onnxruntime
    {"evaluation"},  # running any controller in any env: rollouts, env plugin hooks, metrics, videos
    {"data"},  # demonstrations and their sources (recorded with evaluation's rollouts)
    {"models"},  # torch networks, normaliser, losses
    {"optimizers"},  # optimisers over actions, registered by name
    {"kinds"},  # policy kinds: net, objective and act path, registered by name
    {"config"},  # the run config assembled from the above
    {"policies"},  # torch policies, checkpoints, ONNX export, the Hub
    {"training"},  # the trainer, run folders, logging
    {"diagnostics"},  # landscapes, search-or-model failure, figures of results
    {"experiments"},  # trials, sweeps, searches
    {"presets", "cli", ""},  # named recipes, the command line, the package's lazy front door
]
"""The folders (and top-level modules) of ``implicit_policy`` from the bottom up: a module may import its own
layer and those below, never one above. ``""`` is the package's ``__init__``."""


def layer_of(module: str) -> int:
    """The index in :data:`LAYERS` of an ``implicit_policy`` module (its first name under the package)."""
    first = module.split(".")[1] if "." in module else ""
    for index, names in enumerate(LAYERS):
        if first in names:
            return index
    raise AssertionError(f"{module} is in no layer of LAYERS: add its folder to the order")


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import in ``graph`` of a module in a higher layer than the importer's."""
    found = []
    for module, targets in graph.items():
        if not module.startswith("implicit_policy") or module.startswith("implicit_policy_envs"):
            continue
        for target in sorted(targets):
            if target.startswith("implicit_policy.") or target == "implicit_policy":
                if layer_of(target) > layer_of(module):
                    found.append(f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})")
    return found


def test_folders_import_down_the_layer_order_only():
    graph, _ = import_graph()
    assert not upward_imports(graph), "\n".join(upward_imports(graph))


def test_the_layer_check_fails_on_a_planted_upward_import():
    graph, _ = import_graph()
    planted = {
        **graph,
        "implicit_policy.data.demonstrations": graph["implicit_policy.data.demonstrations"]
        | {"implicit_policy.training.trainer"},
    }
    assert upward_imports(planted) == [
        "implicit_policy.data.demonstrations (layer 3) imports implicit_policy.training.trainer (layer 9)"
    ]


def test_no_import_circles_among_the_packages_modules():
    graph, _ = import_graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycle = stack[stack.index(target) :] + [target]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_no_function_local_imports_of_the_projects_own_modules():
    _, local = import_graph()
    assert not local, "\n".join(local)


def test_the_runtime_acts_with_torch_gymnasium_and_pydantic_unimportable(demos_2d, tmp_path):
    train(tiny_config(n_obs_steps=2), demos_2d, tmp_path / "run", progress=False)
    policy = ImplicitPolicy.load(tmp_path / "run", seed=4)
    path = export_argmin(policy, tmp_path / "policy.onnx")
    obs = np.full((3, 8), 0.5, np.float32)
    expected = policy.act(obs)
    code = f"""
import sys
import numpy as np
BLOCKED = ("torch", "gymnasium", "pydantic", "onnxscript", "safetensors", "tqdm")
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} is blocked in this test")
sys.meta_path.insert(0, Block())
from implicit_policy import OnnxPolicy
actions = OnnxPolicy({str(path)!r}, seed=4).act(np.full((3, 8), 0.5, np.float32))
print(" ".join(map(repr, actions.ravel().tolist())))
print(sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED))
"""
    out = waiting.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    actions, loaded = out.stdout.splitlines()
    np.testing.assert_allclose(np.array(actions.split(), dtype=np.float32).reshape(3, 2), expected, atol=1e-5)
    assert loaded == "[]"
