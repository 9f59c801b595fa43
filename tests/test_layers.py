"""Data flows one way (README, docs/DESIGN.md): index -> qa -> api -> cli. A module may import its own layer and
the layers below it, never one above: index/ imports none of qa, api, cli; qa/ none of api, cli; api/ not cli.
Every import counts, also those inside functions (the lazy ones), relative ones and `importlib.import_module("x")`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("index", "qa", "api", "cli")  # lowest first


def imported(source: str, module: str) -> set[str]:
    """Top-level package names a module's source imports, e.g. {"numpy", "index", "qa"}; `module` ("qa.engine")
    names the package a relative import stays in."""
    names: set[str] = set()
    package = module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: stays inside the module's own top-level package
                names.add(package[0])
            elif node.module:
                names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names.add(node.args[0].value.split(".")[0])
    return names


def modules(layer: str) -> list[tuple[str, Path]]:
    return [(".".join(p.relative_to(ROOT).with_suffix("").parts), p) for p in sorted((ROOT / layer).rglob("*.py"))]


@pytest.mark.parametrize("layer", LAYERS)
def test_no_layer_imports_one_above_it(layer: str) -> None:
    above = set(LAYERS[LAYERS.index(layer) + 1 :])
    found = modules(layer)
    assert found, f"no modules under {layer}/"
    back_edges = {
        name: sorted(imported(path.read_text(encoding="utf-8"), name) & above)
        for name, path in found
        if imported(path.read_text(encoding="utf-8"), name) & above
    }
    assert not back_edges, f"{layer}/ imports a layer above it: {back_edges}"


def test_the_check_sees_lazy_relative_and_dynamic_imports() -> None:
    source = (
        "import numpy\n"
        "def serve():\n"
        "    from api.server import serve\n"
        "    if True:\n"
        "        import cli.main as m\n"
        "from ..qa import answer\n"
        "from . import chunk\n"
        "import importlib\n"
        "backend = importlib.import_module('qa.engine')\n"
    )
    assert imported(source, "index.sub.mod") == {"numpy", "api", "cli", "index", "importlib", "qa"}
