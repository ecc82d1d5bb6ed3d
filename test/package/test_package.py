"""The package as a robot's colcon build and ros2 launch see it."""

import ast
import importlib.util
import py_compile
import re
from pathlib import Path

import pytest
from catkin_pkg.package import parse_package

from handperception.ros.graph_config import NODE_KINDS, graph_nodes, node_class

ROOT = Path(__file__).resolve().parents[2]


def _console_scripts() -> dict[str, str]:
    tree = ast.parse((ROOT / "setup.py").read_text())
    nodes = next(
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "NODES"
    )
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
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.split(".")[0].endswith("_msgs")
            ):
                imported.add(node.module.split(".")[0])
    assert imported <= {d.name for d in package.exec_depends}, imported - {
        d.name for d in package.exec_depends
    }


def test_every_node_has_a_console_script_and_a_main():
    scripts = _console_scripts()
    assert set(scripts) == set(NODE_KINDS)
    for name, target in scripts.items():
        module, _, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module), function))
        assert node_class(name).__module__ == module


def test_interfaces_are_all_built_into_the_environment():
    """Every definition in the top-level msg/ and srv/ (their one home, see
    test_interface_layout.py) is installed and importable, and nothing stale is installed."""
    import sys

    defined = sorted(
        str(p.relative_to(ROOT)) for folder in ("msg", "srv") for p in (ROOT / folder).glob("*.*")
    )
    assert defined
    for relative in defined:
        kind, _, name = relative.partition("/")
        assert hasattr(importlib.import_module(f"handperception_msgs.{kind}"), Path(name).stem), (
            relative
        )
    index = (
        Path(sys.prefix)
        / "share"
        / "ament_index"
        / "resource_index"
        / "rosidl_interfaces"
        / "handperception_msgs"
    )
    installed = sorted(line for line in index.read_text().split() if not line.endswith(".idl"))
    assert installed == defined, "the installed interfaces are stale: run `make setup`"


# -- parameters: asked of the nodes themselves --------------------------------------------------


@pytest.fixture(scope="module")
def ros_context():
    import rclpy

    contexts = []

    def make(params_file=None):
        context = rclpy.Context()
        args = ["test_package"] + (
            ["--ros-args", "--params-file", str(params_file)] if params_file else []
        )
        rclpy.init(args=args, context=context)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        rclpy.try_shutdown(context=context)


def _ask_node(kind: str, context) -> dict:
    """Instantiate the node (autostart off: it stays unconfigured, so no model is loaded) and ask
    it, as ``ros2 param list/describe/get`` would, for its parameters: {name: (description, value)}.
    Parameters every rclpy node has (use_sim_time, ...) are left out."""
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    plain = Node("plain_rclpy_node", context=context)
    builtin = set(plain.list_parameters([], 0).names)
    plain.destroy_node()
    node = node_class(kind)(
        context=context, parameter_overrides=[Parameter("autostart", value=False)]
    )
    try:
        assert node._state_machine.current_state[1] == "unconfigured"
        names = sorted(set(node.list_parameters([], 0).names) - builtin)
        descriptors = node.describe_parameters(names)
        values = node.get_parameters(names)
        return {
            name: (d.description, v.value)
            for name, d, v in zip(names, descriptors, values, strict=True)
        }
    finally:
        node.destroy_node()


def _readme_parameters() -> dict[str, set[str]]:
    """README "Nodes and parameters": {node: parameter names}, common ones included."""
    from handperception.ros.node_base import ImageNode

    text = (ROOT / "README.md").read_text()
    section = re.search(r"^## Nodes and parameters\n(.*?)^## ", text, re.S | re.M)
    assert section, "README has no '## Nodes and parameters' section"
    section = section.group(1)
    while re.search(r"\([^()]*\)", section):  # parentheses hold defaults, values, remarks
        section = re.sub(r"\([^()]*\)", "", section)

    def names(fragment: str) -> set[str]:
        return set(re.findall(r"`([a-z][a-z0-9_]*)`", fragment))

    common = re.search(r"Common parameters:(.*?)\.\s", section, re.S)
    image = re.search(r"Image consumers add(.*?)\.\s", section, re.S)
    assert common and image, "README no longer lists the common and image-consumer parameters"
    documented = {}
    for bullet in re.findall(r"^- (.*?)(?=^- |^\S|\Z)", section, re.S | re.M):
        head = re.match(r"`([a-z_]+)`\s*:(.*)", bullet, re.S)
        if head and head.group(1) in NODE_KINDS:
            kind = head.group(1)
            documented[kind] = names(common.group(1)) | names(head.group(2))
            if issubclass(node_class(kind), ImageNode):
                documented[kind] |= names(image.group(1))
    return documented


def test_every_node_declares_the_parameters_the_readme_documents(ros_context):
    documented = _readme_parameters()
    assert set(documented) == set(NODE_KINDS), f"README documents nodes {sorted(documented)}"
    context = ros_context()
    for kind in NODE_KINDS:
        declared = _ask_node(kind, context)
        assert set(declared) == documented[kind], (
            f"{kind}: declared but not in README: {sorted(set(declared) - documented[kind])}; "
            f"in README but not declared: {sorted(documented[kind] - set(declared))}"
        )
        undescribed = [
            name for name, (description, _) in declared.items() if not description.strip()
        ]
        assert not undescribed, f"{kind}: parameters without a description: {undescribed}"


@pytest.mark.parametrize("config", sorted((ROOT / "config").glob("*.yaml")), ids=lambda p: p.name)
def test_configs_name_known_nodes_with_declared_parameters(config, ros_context):
    """Each node of a config, started from it as the runner and launch files start it
    (``--params-file``), declares every parameter the file sets and took the file's value."""
    import yaml

    from handperception.ros.graph_config import SHARED_KEY

    data = yaml.safe_load(config.read_text())
    shared = data.get(SHARED_KEY, {}).get("ros__parameters", {})
    by_node = {key.rsplit("/", 1)[-1]: value["ros__parameters"] for key, value in data.items()}
    context = ros_context(config)
    for name in graph_nodes(config):
        expected = {**shared, **by_node[name]}
        declared = _ask_node(name, context)
        unknown = sorted(set(expected) - set(declared))
        assert not unknown, f"{config.name}: {name} does not declare {unknown}"
        for parameter, value in expected.items():
            if parameter == "autostart":  # overridden to stay unconfigured, see _ask_node
                continue
            assert declared[parameter][1] == value, (
                f"{config.name}: {name}.{parameter} = {declared[parameter][1]!r}"
            )


@pytest.mark.parametrize(
    "path", sorted((ROOT / "launch").glob("*.launch.py")), ids=lambda p: p.name
)
def test_launch_files_compile_and_launch_where_launch_exists(path, tmp_path):
    py_compile.compile(str(path), cfile=str(tmp_path / "launch.pyc"), doraise=True)
    if importlib.util.find_spec("launch_ros") is None:
        pytest.skip("launch_ros is not installed here (no wheel); compiled only")
    spec = importlib.util.spec_from_file_location("launch_file", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.generate_launch_description().entities


def _package_node_actions(path: Path) -> list[ast.Call]:
    """The ``Node(...)``/``LifecycleNode(...)`` calls of a launch file that start a node of this
    package (not rviz)."""
    return [
        call
        for call in ast.walk(ast.parse(path.read_text()))
        if isinstance(call, ast.Call)
        and getattr(call.func, "id", "") in ("Node", "LifecycleNode")
        and any(
            k.arg == "package" and getattr(k.value, "value", None) == "handperception"
            for k in call.keywords
        )
    ]


def test_every_node_a_launch_file_starts_is_respawned_unless_told_not_to():
    """On a robot, launch's respawn is what the runner's restart policy is in one process: every
    node action passes ``respawn`` from the ``respawn`` argument (default true) and a delay."""
    main = ROOT / "launch" / "handperception.launch.py"
    arguments = next(
        node.value
        for node in ast.walk(ast.parse(main.read_text()))
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "ARGUMENTS"
    )
    defaults = {key.value: value.elts[0] for key, value in zip(arguments.keys, arguments.values)}
    assert getattr(defaults["respawn"], "value", None) == "true"
    actions = [
        call for path in ROOT.glob("launch/*.launch.py") for call in _package_node_actions(path)
    ]
    assert actions, "no launch file starts a handperception node"
    for call in actions:
        keywords = {k.arg: k.value for k in call.keywords}
        assert "respawn" in keywords and "respawn_delay" in keywords, ast.unparse(call)
        assert ast.unparse(keywords["respawn"]) == "_is_true(value['respawn'])"
