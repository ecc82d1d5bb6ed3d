#!/usr/bin/env bash
# Builds handperception_msgs (the definitions in the top-level msg/ and srv/) with plain cmake
# into a Python venv (ROS 2 from PyPI wheels).
# Usage: tools/build_interfaces.sh VENV BUILD_DIR
# In a colcon workspace use colcon instead (see docs/interfaces.md).
set -euo pipefail
venv=$(cd "$1" && pwd)
build=${2:-build/handperception_msgs}
src=$(cd "$(dirname "$0")/../handperception_msgs" && pwd)
export PATH="$venv/bin:$PATH"
export AMENT_PREFIX_PATH="$venv"
export CMAKE_PREFIX_PATH="$venv"
cmake -S "$src" -B "$build" -DCMAKE_INSTALL_PREFIX="$venv" \
  -DPython3_EXECUTABLE="$venv/bin/python" -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release >"$build.log" 2>&1 \
  || { tail -40 "$build.log"; exit 1; }
cmake --build "$build" -j2 --target install >>"$build.log" 2>&1 || { tail -40 "$build.log"; exit 1; }
"$venv/bin/python" -c "from handperception_msgs.msg import HandArray; from handperception_msgs.srv import SynthesizeGrasps" \
  || { echo "handperception_msgs built but does not import; see $build.log"; exit 1; }
echo "handperception_msgs installed into $venv"
