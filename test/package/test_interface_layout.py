"""The repository layout of the users' design card: the ROS interfaces are defined once, in the
top-level msg/ and srv/, and the interface package handperception_msgs builds from exactly those
files (see docs/interfaces.md for why the package itself stays in handperception_msgs/)."""

import os
import re
from pathlib import Path

from catkin_pkg.package import parse_package

ROOT = Path(__file__).resolve().parents[2]
# Stand-ins for third-party interface packages that no wheel provides (tools/tf2_msgs: built by
# `make setup` only where no tf2_msgs imports): upstream's definitions, not this project's.
STAND_INS = {ROOT / "tools" / "tf2_msgs"}
INTERFACE_SUFFIXES = {".msg", ".srv", ".action", ".idl"}
KINDS = {".msg": "msg", ".srv": "srv", ".action": "action"}
# build outputs, environments and data: never sources of definitions (see .gitignore)
_NOT_SOURCE = {"build", "install", "log", "out", "data", "bench", "__pycache__", "node_modules"}


def _source_files():
    for dirpath, dirnames, filenames in os.walk(ROOT):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not d.startswith(".")
            and d not in _NOT_SOURCE
            and not d.endswith(".egg-info")
            and not (here / d / "pyvenv.cfg").exists()
            and here / d not in STAND_INS
        )
        for name in sorted(filenames):
            yield here / name


def _interface_files():
    return [p for p in _source_files() if p.suffix in INTERFACE_SUFFIXES]


def _rosidl_entries(cmakelists: str) -> list[str]:
    """The interface-file arguments of rosidl_generate_interfaces(), in order."""
    call = re.search(r"rosidl_generate_interfaces\s*\((.*?)\)", cmakelists, re.S)
    assert call, "rosidl_generate_interfaces(...) not found"
    body = re.sub(r"#[^\n]*", "", call.group(1))
    arguments = re.findall(r'"[^"]*"|[^\s"]+', body)
    assert arguments[0] == "${PROJECT_NAME}", arguments[0]
    entries = []
    for argument in arguments[1:]:
        if argument in (
            "DEPENDENCIES",
            "LIBRARY_NAME",
            "ADD_LINTER_TESTS",
            "SKIP_INSTALL",
            "SKIP_GROUP_MEMBERSHIP_CHECK",
        ):
            break
        entries.append(argument.strip('"'))
    return entries


def test_every_interface_is_defined_exactly_once_in_top_level_msg_and_srv():
    files = _interface_files()
    assert files, "no interface definitions found"
    for path in files:
        relative = path.relative_to(ROOT)
        assert path.suffix in KINDS, f"{relative}: only .msg/.srv/.action definitions are expected"
        home = KINDS[path.suffix]
        assert relative.parts == (home, path.name), (
            f"{relative}: interface definitions live only in the top-level {home}/ folder"
        )
    names = [path.stem for path in files]
    assert len(names) == len(set(names)), (
        f"defined more than once: {sorted({n for n in names if names.count(n) > 1})}"
    )
    package_dir = ROOT / "handperception_msgs"
    left = [p for p in package_dir.rglob("*") if p.suffix in INTERFACE_SUFFIXES]
    assert not left, f"copies under handperception_msgs/: {left}"


def test_the_interface_package_builds_exactly_the_top_level_definitions():
    cmakelists = (ROOT / "handperception_msgs" / "CMakeLists.txt").read_text()
    entries = _rosidl_entries(cmakelists)
    relative = []
    for entry in entries:
        # "<absolute base>:<relative path>": the base must be the repository root (the parent of
        # the package directory), which the CMakeLists computes into ${_root}
        base, colon, path = entry.rpartition(":")
        assert colon and base == "${_root}", (
            f'{entry}: expected "${{_root}}:<msg|srv>/<Name>.<ext>"'
        )
        relative.append(path)
    assert re.search(
        r'get_filename_component\(_root "\$\{CMAKE_CURRENT_SOURCE_DIR\}" REALPATH\)\s*'
        r'get_filename_component\(_root "\$\{_root\}" DIRECTORY\)',
        cmakelists,
    ), "${_root} must be the real parent directory of handperception_msgs/"
    assert len(relative) == len(set(relative)), f"listed twice: {relative}"
    on_disk = sorted(str(p.relative_to(ROOT)) for p in _interface_files())
    not_built, missing = sorted(set(on_disk) - set(relative)), sorted(set(relative) - set(on_disk))
    assert sorted(relative) == on_disk, f"not built: {not_built}; listed but missing: {missing}"


def test_both_package_manifests_are_valid_and_where_colcon_expects_them():
    manifests = sorted(p.relative_to(ROOT) for p in _source_files() if p.name == "package.xml")
    assert manifests == [Path("handperception_msgs/package.xml"), Path("package.xml")]
    root = parse_package(ROOT / "package.xml")
    msgs = parse_package(ROOT / "handperception_msgs" / "package.xml")
    for package in (root, msgs):
        package.validate()
    assert (root.name, root.get_build_type()) == ("handperception", "ament_python")
    assert (msgs.name, msgs.get_build_type()) == ("handperception_msgs", "ament_cmake")
    assert "rosidl_default_generators" in {d.name for d in msgs.buildtool_depends}
    assert "rosidl_default_runtime" in {d.name for d in msgs.exec_depends}
    assert "rosidl_interface_packages" in {g.name for g in msgs.member_of_groups}
    # every package the definitions use is a dependency of the interface package
    used = set()
    for path in _interface_files():
        used |= set(re.findall(r"^\s*([a-z][a-z0-9_]*)/[A-Z]\w*", path.read_text(), re.M))
    used.discard("handperception_msgs")
    assert used <= {d.name for d in msgs.build_depends}, used - {d.name for d in msgs.build_depends}
    cmakelists = (ROOT / "handperception_msgs" / "CMakeLists.txt").read_text()
    dependencies = re.search(r"DEPENDENCIES([^)]*)\)", cmakelists).group(1).split()
    assert used <= set(dependencies), used - set(dependencies)
