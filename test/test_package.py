"""The package as a robot's colcon build and ros2 launch see it."""
import ast
import importlib.util
import py_compile
from pathlib import Path

import pytest
from catkin_pkg.package import parse_package

from handperception.ros.runner import NODE_KINDS, graph_nodes, node_class

ROOT = Path(__file__).resolve().parents[1]


def _console_scripts() -> dict[str, str]:
    tree = ast.parse((ROOT / "setup.py").read_text())
    nodes = next(n for n in ast.walk(tree) if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "NODES")
    return ast.literal_eval(nodes.value)


def test_package_manifests_are_valid_and_depend_on_the_interfaces():
    package = parse_package(ROOT / "package.xml")
    msgs = parse_package(ROOT / "handperception_msgs" / "package.xml")
    package.validate()
    msgs.validate()
    assert package.get_build_type() == "ament_python" and msgs.get_build_type() == "ament_cmake"
    assert "handperception_msgs" in {d.name for d in package.exec_depends}
    assert "rosidl_interface_packages" in {g.name for g in msgs.member_of_groups}
    # every ROS package the node layer imports is declared
    imported = set()
    for path in (ROOT / "handperception").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0].endswith("_msgs"):
                imported.add(node.module.split(".")[0])
    assert imported <= {d.name for d in package.exec_depends}, imported - {d.name for d in package.exec_depends}


def test_every_node_has_a_console_script_and_a_main():
    scripts = _console_scripts()
    assert set(scripts) == set(NODE_KINDS)
    for name, target in scripts.items():
        module, _, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module), function))
        assert node_class(name).__module__ == module


def test_interfaces_are_all_built_into_the_environment():
    listed = (ROOT / "handperception_msgs" / "CMakeLists.txt").read_text()
    for path in sorted((ROOT / "handperception_msgs").glob("*/*.*")):
        if path.suffix in (".msg", ".srv"):
            assert f'"{path.parent.name}/{path.name}"' in listed, f"{path.name} is not in rosidl_generate_interfaces"
            module = importlib.import_module(f"handperception_msgs.{path.parent.name}")
            assert hasattr(module, path.stem)


@pytest.mark.parametrize("config", sorted((ROOT / "config").glob("*.yaml")), ids=lambda p: p.name)
def test_configs_name_known_nodes_with_declared_parameters(config):
    import yaml

    data = yaml.safe_load(config.read_text())
    for name in graph_nodes(config):
        source = Path(importlib.import_module(node_class(name).__module__).__file__).read_text()
        base = (ROOT / "handperception" / "ros" / "node_base.py").read_text()
        for parameter in data[name]["ros__parameters"]:
            assert f'"{parameter}"' in source or f'"{parameter}"' in base, f"{name} does not declare '{parameter}'"


@pytest.mark.parametrize("path", sorted((ROOT / "launch").glob("*.launch.py")), ids=lambda p: p.name)
def test_launch_files_compile_and_launch_where_launch_exists(path, tmp_path):
    py_compile.compile(str(path), cfile=str(tmp_path / "launch.pyc"), doraise=True)
    if importlib.util.find_spec("launch_ros") is None:
        pytest.skip("launch_ros is not installed here (no wheel); compiled only")
    spec = importlib.util.spec_from_file_location("launch_file", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.generate_launch_description().entities
