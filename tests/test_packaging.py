"""The wheel ships every package: pyproject's explicit list (needed to map ``envs/`` to
``implicit_policy_envs``) must name each folder of ``implicit_policy/`` that holds an ``__init__.py``."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_lists_every_package_folder():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "implicit_policy").rglob("__init__.py")}
    assert on_disk <= listed, f"pyproject.toml [tool.setuptools] packages lacks {sorted(on_disk - listed)}"
    assert "implicit_policy_envs" in listed
