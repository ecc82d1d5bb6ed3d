"""A real human hand mesh (the WebXR generic hand), skinned to this project's 21-joint skeleton.

Why a mesh: capsules read as a mannequin to anything trained on real hands (MediaPipe found a
third of them); a sculpted hand has knuckles, a thenar pad, webbing and fingertips. The mesh is
installed by name (``make assets``: npm ``@webxr-input-profiles/assets``, MIT) and never
committed; see ``tools/install_assets.sh``.

How it follows the skeleton exactly. The glTF skin has 25 joints (``WEBXR_JOINTS``); each drives
one bone of ours (``DRIVES``: a finger's metacarpal joint the palm bone wrist -> knuckle, its
proximal phalanx joint knuckle -> PIP, and so on; the wrist the whole palm). A bone's transform
maps its rest segment onto its target segment: rotate by the bone's rotation, stretch along the
bone by the length ratio and across it by the hand's scale, anchored at the parent joint, so the
bone's end lands exactly on the target keypoint (``segment_transforms``). It is used twice:

1. once at load, to retarget the mesh's own rest skeleton (its tips moved out to the fingertip
   surface) onto this project's rest hand (zero pose, mean shape, right hand, hand frame), each
   bone swung by the least rotation onto ours; the result is the template ``HandMesh``;
2. per render, from that rest hand to the posed one, with the bones' rotations of forward
   kinematics (``bone_rotations``, twist included) and the hand's bone lengths.

Vertices follow by linear-blend skinning with the glTF weights. A left hand is the mirror image
of the right one, exactly as ``skeleton.kinematics`` builds left hands, so keypoints from forward
kinematics and the posed mesh agree for both sides.
"""

from __future__ import annotations

import json
import os
import struct
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix

from handperception.skeleton.definition import FINGER_JOINTS, NUM_JOINTS, PARENTS, ROOT
from handperception.skeleton.frames import wrist_frame
from handperception.skeleton.kinematics import (
    NUM_FINGERS,
    forward_kinematics,
    joint_rotations,
    mean_shape,
)

MESH_VERSION = "1.0.20"
# Where ``make assets`` installs (``<venv>/share/handperception-assets``); this variable overrides.
ASSETS_ENV = "HANDPERCEPTION_ASSETS"
WEBXR_FINGERS = ("thumb", "index-finger", "middle-finger", "ring-finger", "pinky-finger")
_WEBXR_SEGMENTS = (
    "metacarpal",
    "phalanx-proximal",
    "phalanx-intermediate",
    "phalanx-distal",
    "tip",
)
WEBXR_JOINTS: tuple[str, ...] = (
    "wrist",
    "thumb-metacarpal",
    "thumb-phalanx-proximal",
    "thumb-phalanx-distal",
    "thumb-tip",
) + tuple(f"{finger}-{segment}" for finger in WEBXR_FINGERS[1:] for segment in _WEBXR_SEGMENTS)
# Our joint at each WebXR joint (-1: a finger's metacarpal joint, which we do not have).
KEYPOINT_OF: tuple[int, ...] = (
    (ROOT,)
    + tuple(FINGER_JOINTS[0])
    + tuple(joint for joints in FINGER_JOINTS[1:] for joint in (-1, *joints))
)
# The bone each WebXR joint drives, named by the joint it ends at (ROOT: the wrist drives the
# palm as a whole); a tip joint carries no weight and moves with the distal bone.
_THUMB = FINGER_JOINTS[0]
DRIVES: tuple[int, ...] = (ROOT, _THUMB[1], _THUMB[2], _THUMB[3], _THUMB[3]) + tuple(
    joint for joints in FINGER_JOINTS[1:] for joint in (*joints, joints[3])
)
# Fingertip keypoints sit this far (metres) inside the end of the mesh's fingertip, as labelled
# fingertips of real datasets (FreiHAND, MediaPipe) sit at the skin.
TIP_INSET = 0.002
# A ring of the subdivided mesh around a finger joint has ~16 vertices: the farthest of the
# nearest 24 is about the skin's distance on the far side of the joint.
SKIN_NEIGHBOURS = 24
_GLB_MAGIC, _JSON_CHUNK, _BINARY_CHUNK = 0x46546C67, 0x4E4F534A, 0x004E4942
_COMPONENTS = {5121: np.uint8, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


def assets_root() -> Path:
    """The folder ``make assets`` fills: $HANDPERCEPTION_ASSETS, else the venv's share folder."""
    configured = os.environ.get(ASSETS_ENV)
    return Path(configured) if configured else Path(sys.prefix) / "share" / "handperception-assets"


def hand_mesh_path() -> Path:
    """The installed right-hand glb; FileNotFoundError naming ``make assets`` when missing."""
    path = assets_root() / f"generic-hand-{MESH_VERSION}" / "right.glb"
    if not path.is_file():
        raise FileNotFoundError(
            f"the hand mesh is not installed ({path} is missing); run `make assets` "
            f"(tools/install_assets.sh fetches @webxr-input-profiles/assets@{MESH_VERSION} by name)"
        )
    return path


@dataclass(frozen=True)
class SkinnedMesh:
    """A triangle mesh with a skin: positions (V, 3) metres, faces (F, 3) counter-clockwise seen
    from outside, weights (V, J) rows summing to 1, joint_names (J,), joint_positions (J, 3)
    metres at the bind pose."""

    positions: np.ndarray
    faces: np.ndarray
    weights: np.ndarray
    joint_names: tuple[str, ...]
    joint_positions: np.ndarray


def read_skinned_glb(path: str | Path) -> SkinnedMesh:
    """The first skinned primitive of a binary glTF: its positions, triangles and skin.

    A small reader of what the format fixes (glTF 2.0: a JSON chunk, then a binary chunk of
    tightly packed little-endian accessors) so no glTF library is needed. The bind pose's joint
    positions are the translations of the inverse bind matrices' inverses.
    """
    data = Path(path).read_bytes()
    magic, _version, _length = struct.unpack_from("<III", data)
    if magic != _GLB_MAGIC:
        raise ValueError(f"{path} is not a binary glTF (.glb)")
    chunks, offset = {}, 12
    while offset < len(data):
        size, kind = struct.unpack_from("<II", data, offset)
        chunks[kind] = data[offset + 8 : offset + 8 + size]
        offset += 8 + size
    document, binary = json.loads(chunks[_JSON_CHUNK]), chunks[_BINARY_CHUNK]

    def accessor(index: int) -> np.ndarray:
        spec = document["accessors"][index]
        view = document["bufferViews"][spec["bufferView"]]
        dtype, width = np.dtype(_COMPONENTS[spec["componentType"]]), _WIDTHS[spec["type"]]
        if view.get("byteStride", dtype.itemsize * width) != dtype.itemsize * width:
            raise ValueError(f"{path}: interleaved accessors are not supported")
        start = view.get("byteOffset", 0) + spec.get("byteOffset", 0)
        flat = np.frombuffer(binary, dtype, spec["count"] * width, start)
        return flat.reshape(spec["count"], width)

    node = next(n for n in document["nodes"] if "mesh" in n and "skin" in n)
    primitive = document["meshes"][node["mesh"]]["primitives"][0]
    skin = document["skins"][node["skin"]]
    attributes = primitive["attributes"]
    joints = accessor(attributes["JOINTS_0"]).astype(np.int64)
    influence = accessor(attributes["WEIGHTS_0"]).astype(np.float64)
    weights = np.zeros((len(joints), len(skin["joints"])))
    # A vertex may list one joint in several slots (with zero weight); add, never overwrite.
    np.add.at(
        weights,
        (np.repeat(np.arange(len(joints)), joints.shape[1]), joints.ravel()),
        influence.ravel(),
    )
    inverse_bind = accessor(skin["inverseBindMatrices"]).reshape(-1, 4, 4).transpose(0, 2, 1)
    return SkinnedMesh(
        positions=accessor(attributes["POSITION"]).astype(np.float64),
        faces=accessor(primitive["indices"]).reshape(-1, 3).astype(np.int64),
        weights=weights / weights.sum(axis=1, keepdims=True),
        joint_names=tuple(document["nodes"][j]["name"] for j in skin["joints"]),
        joint_positions=np.linalg.inv(inverse_bind)[:, :3, 3],
    )


def weld(mesh: SkinnedMesh) -> SkinnedMesh:
    """Merge vertices at the same position (glTF splits them along texture seams), so the
    surface is one closed sheet for smooth normals and subdivision. Coincident copies carry the
    same skin weights, so the first copy's are kept."""
    key = np.round(mesh.positions / 1e-7).astype(np.int64)
    _, first, index = np.unique(key, axis=0, return_index=True, return_inverse=True)
    return SkinnedMesh(
        mesh.positions[first],
        index.ravel()[mesh.faces],
        mesh.weights[first],
        mesh.joint_names,
        mesh.joint_positions,
    )


def subdivide(mesh: SkinnedMesh) -> SkinnedMesh:
    """One step of Loop subdivision (four triangles per triangle, smoothed), skin weights
    carried along: Loop's new vertices are fixed linear mixtures of old ones, so the weights
    are subdivided as extra coordinates, three at a time (trimesh subdivides 3-vectors)."""
    from trimesh.remesh import subdivide_loop

    columns = np.concatenate([mesh.positions, mesh.weights], axis=1)
    columns = np.pad(columns, ((0, 0), (0, -columns.shape[1] % 3)))
    parts = [
        subdivide_loop(columns[:, i : i + 3], mesh.faces) for i in range(0, columns.shape[1], 3)
    ]
    values = np.concatenate([vertices for vertices, _ in parts], axis=1)
    weights = np.clip(values[:, 3 : 3 + mesh.weights.shape[1]], 0.0, None)
    return SkinnedMesh(
        values[:, :3],
        parts[0][1],
        weights / weights.sum(axis=1, keepdims=True),
        mesh.joint_names,
        mesh.joint_positions,
    )


def linear_blend_skinning(
    vertices: np.ndarray, weights: np.ndarray, transforms: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) moved by the weighted sum of joint transforms (J, 3, 4) (affine, [A | t])
    with weights (V, J), dense or scipy-sparse. Returns the moved vertices (V, 3) and each
    vertex's blended linear part (V, 3, 3) (to carry normals along)."""
    blended = np.asarray(weights @ transforms.reshape(len(transforms), 12)).reshape(-1, 3, 4)
    moved = np.einsum("vij,vj->vi", blended[:, :, :3], vertices) + blended[:, :, 3]
    return moved, blended[:, :, :3]


def segment_transforms(
    rest: np.ndarray, target: np.ndarray, rotations: np.ndarray, across: float
) -> np.ndarray:
    """(25, 3, 4) affine transform of each WebXR joint's bone from rest to target keypoints.

    rest, target (21, 3): keypoints; rotations (21, 3, 3): the rotation of the bone ending at
    each joint (at ROOT: the palm's). A bone p -> c maps x to
    target[p] + R (across I + (s - across) d d^T) (x - rest[p]) with d its rest direction and s
    its length ratio: rest[c] lands exactly on target[c] whenever R d is the target direction.
    The palm (ROOT, no bone: d = 0) only rotates and scales by ``across`` about the wrist.
    """
    child = np.array(DRIVES)
    anchor = np.array([ROOT if c == ROOT else PARENTS[c] for c in DRIVES])
    bone = rest[child] - rest[anchor]
    length = np.linalg.norm(bone, axis=1)
    has_bone = length > 0
    direction = np.where(has_bone[:, None], bone / np.where(has_bone, length, 1.0)[:, None], 0.0)
    stretch = np.linalg.norm(target[child] - target[anchor], axis=1) / np.where(
        has_bone, length, 1.0
    )
    rotation = rotations[child]
    turned = np.einsum("jab,jb->ja", rotation, direction)
    linear = across * rotation + (stretch - across)[:, None, None] * (
        turned[:, :, None] * direction[:, None, :]
    )
    offset = target[anchor] - np.einsum("jab,jb->ja", linear, rest[anchor])
    return np.concatenate([linear, offset[:, :, None]], axis=2)


def _swing(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The least rotation (3, 3) taking unit vector source to unit vector target (< 180 deg)."""
    axis = np.cross(source, target)
    cosine = float(np.dot(source, target))
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + cross + cross @ cross / (1.0 + cosine)


@lru_cache(maxsize=1)
def _rest_frames() -> np.ndarray:
    """(5, 3, 3) each finger's base-joint frame at zero pose, read off forward kinematics.

    By the kinematics' convention a joint rotation is Rz(abduction) Rx(-flexion) Ry(twist) in a
    frame whose +y is the bone, so a first bone abducted by -90 deg points along that frame's +x:
    two evaluations of forward kinematics give the frame without copying its constants.
    """
    zero = np.zeros((1 + NUM_FINGERS, 15, 3))
    for finger in range(NUM_FINGERS):
        zero[1 + finger, 3 * finger, 1] = -np.pi / 2
    keypoints = forward_kinematics(zero)
    frames = np.empty((NUM_FINGERS, 3, 3))
    for finger, joints in enumerate(FINGER_JOINTS):
        base, next_joint = joints[0], joints[1]
        y = keypoints[0, next_joint] - keypoints[0, base]
        x = keypoints[1 + finger, next_joint] - keypoints[1 + finger, base]
        y, x = y / np.linalg.norm(y), x / np.linalg.norm(x)
        frames[finger] = np.stack([x, y, np.cross(x, y)], axis=1)
    return frames


def bone_rotations(pose: np.ndarray) -> np.ndarray:
    """(N, 21, 3, 3) rotation from the rest hand to the posed one (hand frame, right hand) of
    the bone ending at each joint; identity for the wrist and the rigid palm bones.

    The posed frame of a finger's k-th articulated bone is its rest frame times the joint
    rotations of levels 0..k (``skeleton.kinematics.joint_rotations``), as forward kinematics
    chains them, so twist turns the finger's surface too.
    """
    pose = np.asarray(pose, dtype=np.float64)
    rotations = np.tile(np.eye(3), (len(pose), NUM_JOINTS, 1, 1))
    local = joint_rotations(pose)
    for finger, joints in enumerate(FINGER_JOINTS):
        rest = _rest_frames()[finger]
        frame = np.broadcast_to(rest, (len(pose), 3, 3))
        for level in range(3):
            frame = frame @ local[:, 3 * finger + level]
            rotations[:, joints[level + 1]] = frame @ rest.T
    return rotations


@dataclass(frozen=True)
class HandMesh:
    """The template: the mesh retargeted onto the rest right hand (zero pose, mean shape, hand
    frame of ``skeleton.kinematics``, metres).

    vertices (V, 3); normals (V, 3) unit, area-weighted; faces (F, 3) counter-clockwise from
    outside; weights (V, 25) scipy CSR over WEBXR_JOINTS; finger (V,) 0..4 thumb..little or -1
    for the palm (each vertex's dominant joint); rest_keypoints (21, 3); skin_depth (21,) how
    deep each keypoint lies under the skin (the farthest of its SKIN_NEIGHBOURS nearest
    vertices).
    """

    vertices: np.ndarray
    normals: np.ndarray
    faces: np.ndarray
    weights: np.ndarray
    finger: np.ndarray
    rest_keypoints: np.ndarray
    skin_depth: np.ndarray

    def pose(
        self,
        pose: np.ndarray,
        shape: np.ndarray,
        global_rotation: np.ndarray,
        translation: np.ndarray,
        is_left: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Vertices (V, 3) and unit normals (V, 3) of one hand posed like
        ``forward_kinematics(pose[None], shape[None], global_rotation[None], translation[None],
        [is_left])`` places its keypoints: pose (15, 3), shape (21,), global_rotation (3, 3),
        translation (3,)."""
        target = forward_kinematics(pose[None], shape[None])[0]
        rotations = bone_rotations(pose[None])[0]
        transforms = segment_transforms(self.rest_keypoints, target, rotations, float(shape[0]))
        moved, linear = linear_blend_skinning(self.vertices, self.weights, transforms)
        normals = np.einsum("vij,vj->vi", linear, self.normals)
        mirror = np.array([-1.0 if is_left else 1.0, 1.0, 1.0])
        placed = (moved * mirror) @ global_rotation.T + translation
        normals = (normals * mirror) @ global_rotation.T
        return placed, normals / np.linalg.norm(normals, axis=1, keepdims=True)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) unit normals of a closed mesh: the area-weighted mean of its faces' normals."""
    corners = vertices[faces]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.zeros_like(vertices)
    for corner in range(3):
        np.add.at(normals, faces[:, corner], face_normals)
    return normals / np.linalg.norm(normals, axis=1, keepdims=True)


def _mesh_keypoints(mesh: SkinnedMesh) -> np.ndarray:
    """(21, 3) our keypoints on the mesh's bind pose: its joints, with each tip moved out along
    the distal bone to TIP_INSET inside the farthest skin the distal joint carries."""
    order = [mesh.joint_names.index(name) for name in WEBXR_JOINTS]
    keypoints = np.empty((NUM_JOINTS, 3))
    for webxr, joint in zip(order, KEYPOINT_OF):
        if joint >= 0:
            keypoints[joint] = mesh.joint_positions[webxr]
    dominant = np.array(mesh.joint_names)[mesh.weights.argmax(axis=1)]
    for name, joints in zip(WEBXR_FINGERS, FINGER_JOINTS):
        distal, tip = joints[2], joints[3]
        direction = _unit(keypoints[tip] - keypoints[distal])
        carried = mesh.positions[np.isin(dominant, [f"{name}-phalanx-distal", f"{name}-tip"])]
        reach = float(((carried - keypoints[distal]) @ direction).max())
        keypoints[tip] = keypoints[distal] + (reach - TIP_INSET) * direction
    return keypoints


def retarget(mesh: SkinnedMesh) -> HandMesh:
    """The template from a skinned hand mesh in any frame and rest pose (a flat right hand).

    Its keypoints are first moved rigidly so its wrist frame (``skeleton.frames.wrist_frame``)
    is the rest hand's; then each bone is swung by the least rotation onto ours and stretched to
    our length (``segment_transforms``), and the vertices are skinned accordingly.
    """
    order = [mesh.joint_names.index(name) for name in WEBXR_JOINTS]
    weights = mesh.weights[:, order]
    rest = forward_kinematics(np.zeros((1, 15, 3)), mean_shape(1))[0]
    source = _mesh_keypoints(mesh)
    (source_axes, source_origin), (rest_axes, _) = wrist_frame(source), wrist_frame(rest)
    alignment = rest_axes @ source_axes.T
    source = (source - source_origin) @ alignment.T
    vertices = (mesh.positions - source_origin) @ alignment.T
    rotations = np.tile(np.eye(3), (NUM_JOINTS, 1, 1))
    for child in range(NUM_JOINTS):
        if child != ROOT:
            parent = PARENTS[child]
            rotations[child] = _swing(
                _unit(source[child] - source[parent]), _unit(rest[child] - rest[parent])
            )
    transforms = segment_transforms(source, rest, rotations, 1.0)
    vertices, _ = linear_blend_skinning(vertices, weights, transforms)
    finger = np.array([_finger_of(joint) for joint in DRIVES])[weights.argmax(axis=1)]
    normals = vertex_normals(vertices, mesh.faces)
    distance = np.linalg.norm(rest[:, None] - vertices[None], axis=2)
    skin_depth = np.sort(distance, axis=1)[:, SKIN_NEIGHBOURS - 1]
    # Sparse: at most 8 of 25 joints move a vertex, and a dense product goes through a
    # multi-threaded BLAS that costs milliseconds for this small size on a busy machine.
    return HandMesh(vertices, normals, mesh.faces, csr_matrix(weights), finger, rest, skin_depth)


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def _finger_of(joint: int) -> int:
    """The finger (0..4) whose skin a bone ending at ``joint`` carries; -1 for the palm (the
    wrist and the palm bones ending at the knuckles)."""
    for finger, joints in enumerate(FINGER_JOINTS):
        if joint in joints[1:]:
            return finger
    return -1


@lru_cache(maxsize=1)
def load_hand_mesh() -> HandMesh:
    """The installed hand mesh, welded, subdivided once and retargeted (cached per process)."""
    return retarget(subdivide(weld(read_skinned_glb(hand_mesh_path()))))
