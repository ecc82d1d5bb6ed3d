#!/usr/bin/env bash
# Builds a ROS interface package with plain cmake into a Python venv (ROS 2 from PyPI wheels):
# handperception_msgs (the definitions in the top-level msg/ and srv/) unless PACKAGE_DIR names
# another one (tools/tf2_msgs, for machines where no tf2_msgs exists; see the Makefile).
# Usage: tools/build_interfaces.sh VENV BUILD_DIR [PACKAGE_DIR]
# In a colcon workspace use colcon instead (see docs/interfaces.md).
set -euo pipefail
venv=$(cd "$1" && pwd)
build=${2:-build/handperception_msgs}
src=$(cd "${3:-$(dirname "$0")/../handperception_msgs}" && pwd)
name=$(basename "$src")
export PATH="$venv/bin:$PATH"
export AMENT_PREFIX_PATH="$venv"
export CMAKE_PREFIX_PATH="$venv"
cmake -S "$src" -B "$build" -DCMAKE_INSTALL_PREFIX="$venv" \
  -DPython3_EXECUTABLE="$venv/bin/python" -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release >"$build.log" 2>&1 \
  || { tail -40 "$build.log"; exit 1; }
cmake --build "$build" -j2 --target install >>"$build.log" 2>&1 || { tail -40 "$build.log"; exit 1; }
# Every installed interface imports and loads its type support: a library that does not link
# (a wheel's missing dependency) fails here, not in the first node that publishes the type.
"$venv/bin/python" - "$name" <<'PY' || { echo "$name built but does not import; see $build.log"; exit 1; }
import importlib
import pathlib
import sys

name = sys.argv[1]
definitions = sorted(pathlib.Path(sys.prefix, "share", name).glob("*/*.idl"))
if not definitions:
    sys.exit(f"no interfaces installed under {sys.prefix}/share/{name}")
for idl in definitions:
    getattr(importlib.import_module(f"{name}.{idl.parent.name}"), idl.stem).__import_type_support__()
PY
echo "$name installed into $venv"
