"""ament_python package of handperception.

The same file serves two installs: `colcon build` on a robot with ROS 2 (data files land in
share/handperception, one console script per node in lib/handperception), and `pip install -e .`
into the project's own .venv where ROS 2 comes from PyPI wheels (see Makefile).
"""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "handperception"

NODES = {
    "camera_source": "handperception.ros.nodes.camera_source:main",
    "annotator": "handperception.ros.nodes.annotator:main",
    "bag_recorder": "handperception.ros.nodes.bag_recorder:main",
    "hand_pose": "handperception.ros.nodes.hand_pose:main",
    "gaze": "handperception.ros.nodes.gaze:main",
    "two_hand_pose": "handperception.ros.nodes.two_hand_pose:main",
    "hand_mesh": "handperception.ros.nodes.hand_mesh:main",
    "tabletop_objects": "handperception.ros.nodes.tabletop_objects:main",
    "grasp_synthesis": "handperception.ros.nodes.grasp_synthesis:main",
}

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=[PACKAGE, PACKAGE + ".*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + PACKAGE]),
        ("share/" + PACKAGE, ["package.xml"]),
        ("share/" + PACKAGE + "/launch", glob("launch/*.launch.py")),
        (
            "share/" + PACKAGE + "/config",
            glob("config/*.yaml") + glob("config/*.xml") + glob("config/*.rviz"),
        ),
        ("share/" + PACKAGE + "/config/train", glob("config/train/*.yaml")),
        ("share/" + PACKAGE + "/config/splits", glob("config/splits/*.yaml")),
        ("share/" + PACKAGE + "/checkpoints", glob("checkpoints/*.pt") + glob("checkpoints/*.md")),
    ],
    # What the code imports outside ROS; exact pins for the embedded setup are in requirements.txt.
    install_requires=[
        "numpy",
        "scipy",
        "opencv-python-headless",
        "PyYAML",
        "torch",
        "tqdm",
        "matplotlib",
        "Pillow",
        "trimesh",
        "transforms3d",
        "rosbags",
    ],
    zip_safe=True,
    maintainer="handperception maintainers",
    maintainer_email="maintainers@handperception.example.org",
    description="ROS 2 perception of hands and gaze from RGB cameras, with grasp synthesis.",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [f"{name} = {target}" for name, target in NODES.items()]
        + ["handperception = handperception.cli.main:main"],
    },
)
