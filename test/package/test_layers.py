"""The package's layers look only down, and rclpy stays in ``ros/`` (and the ``cli`` above it).

Why a test: a pure core (models, geometry, pipelines) that never imports ROS is what makes it
testable offline and reusable from a notebook, and layers that only look down keep each new
capability's place obvious. The order below is the one place it is written down (the README's
Layout section describes it). Every import counts, including those inside functions.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "handperception"
# Bottom to top. A module may import its own subpackage and anything in a lower layer.
LAYERS = (
    ("skeleton", "validation"),
    ("geometry", "runtime", "results"),
    ("models",),
    ("losses",),
    ("synth", "data", "msgconv"),
    ("pipeline", "eval"),
    ("train", "sources", "viz", "api"),
    ("claims", "bench"),
    ("ros",),
    ("cli",),
)
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}
ROS_CLIENT_LIBRARIES = ("rclpy",)
ALLOWED_ROS_CLIENTS = ("ros", "cli")


def unit_of(module: str) -> str | None:
    """'handperception.geometry.camera' -> 'geometry'; None outside the package or the root."""
    parts = module.split(".")
    return parts[1] if parts[0] == "handperception" and len(parts) > 1 else None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in the file, relative ones resolved."""
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.append((node.lineno, base))
            # "from handperception import x" imports the unit x
            if base == "handperception":
                found += [(node.lineno, f"handperception.{alias.name}") for alias in node.names]
    return found


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_unit_has_a_layer():
    units = {unit_of(module_name(path)) for path in sources()} - {None}
    assert units <= set(RANK), f"give these a layer in LAYERS: {sorted(units - set(RANK))}"


def test_modules_import_only_their_own_unit_or_lower_layers():
    violations = []
    for path in sources():
        unit = unit_of(module_name(path))
        for line, target in imported_modules(path):
            target_unit = unit_of(target)
            if unit is None or target_unit is None or target_unit == unit:
                continue
            if RANK[target_unit] >= RANK[unit]:
                violations.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line} ({unit}) "
                    f"imports {target} ({target_unit})"
                )
    assert not violations, "imports of the same or a higher layer:\n" + "\n".join(violations)


def test_rclpy_is_imported_only_in_the_ros_layer():
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}"
        for path in sources()
        if unit_of(module_name(path)) not in ALLOWED_ROS_CLIENTS
        for line, target in imported_modules(path)
        if target.split(".")[0] in ROS_CLIENT_LIBRARIES
    ]
    assert not offenders, "\n".join(offenders)


def test_no_import_cycles_between_modules():
    graph = {
        module_name(path): {t for _, t in imported_modules(path) if t.startswith("handperception.")}
        for path in sources()
    }
    # A package import also runs its __init__; resolve "pkg.module" edges to existing modules only.
    graph = {
        module: {t for t in targets if t in graph and t != module}
        for module, targets in graph.items()
    }
    state: dict[str, int] = {}
    cycles = []

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append(" -> ".join(stack[stack.index(target) :] + [target]))
            elif target not in state:
                visit(target, stack + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "from handperception.geometry.camera import PinholeCamera",
            "handperception.geometry.camera",
        ),
        ("from ..geometry import camera", "handperception.geometry"),
        ("from . import tracking", "handperception.pipeline"),
        ("import rclpy.node", "rclpy.node"),
    ],
)
def test_imports_are_resolved_like_python_does(tmp_path, source, expected):
    """The checker itself: relative imports resolve against the module's package."""
    module = tmp_path / "handperception" / "pipeline" / "probe.py"
    module.parent.mkdir(parents=True)
    module.write_text(source + "\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "handperception"
    try:
        assert imported_modules(module)[0] == (1, expected)
    finally:
        PACKAGE = saved
