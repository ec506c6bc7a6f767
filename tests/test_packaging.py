"""The wheel ships every module: setuptools finds packages by their ``__init__.py``, so a folder of modules
without one would be left out of the wheel (CI installs the wheel, not the checkout)."""

from pathlib import Path

from setuptools import find_packages

SRC = Path(__file__).resolve().parents[1] / "src"


def test_every_folder_of_modules_is_a_package_the_wheel_ships():
    found = set(find_packages(where=str(SRC)))
    with_modules = {
        ".".join(p.parent.relative_to(SRC).parts) for p in SRC.rglob("*.py") if "__pycache__" not in p.parts
    }
    assert with_modules <= found, f"folders without __init__.py, left out of the wheel: {sorted(with_modules - found)}"
    assert {"implicit_policy", "implicit_policy.runtime", "implicit_policy_envs"} <= found
