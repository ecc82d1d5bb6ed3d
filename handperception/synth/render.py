"""Render hands into an RGB-D frame with part segmentation, keypoints and visibility.

What is drawn: each hand is the real hand mesh (``synth.hand_mesh``) skinned to its keypoints,
with a forearm and maybe a sleeve (``synth.arm``), coloured by skin tone with palmar tint,
creases, nails and uneven tone (``synth.skin``), lit softly by several lights (``synth.lighting``)
over a photograph or procedural background (``synth.backgrounds``), then put through camera
effects (``synth.effects``).

Why one call for all outputs: every label comes from the same z-buffer that made the pixels,
so segmentation, depth, visibility and keypoints can never disagree, including where two hands
occlude each other. A pixel's part label is that of the mesh vertex nearest it on its triangle,
each vertex labelled by the bone that moves it most.

Output conventions: rgb uint8 (H, W, 3); depth float32 metres along the optical axis, 0 where no
hand was hit (as depth cameras report "no return"); segmentation uint8 with the labels of
``skeleton.parts`` (0 background, 1-6 left palm/thumb..little, 7-12 right).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from handperception.geometry.camera import PinholeCamera
from handperception.skeleton.definition import FINGER_JOINTS, finger_of_joint
from handperception.skeleton.kinematics import HandParameters
from handperception.skeleton.parts import finger_label, palm_label
from handperception.synth.arm import ArmLook, arm_tubes, open_wrist, sample_arm
from handperception.synth.backgrounds import random_background
from handperception.synth.effects import apply_sensor_effects, jpeg_round_trip
from handperception.synth.hand_mesh import DRIVES, HandMesh, load_hand_mesh, vertex_normals
from handperception.synth.hand_model import hand_capsules
from handperception.synth.lighting import (
    sample_lighting,
    screen_occlusion,
    shade,
    to_linear,
    to_srgb,
)
from handperception.synth.raster import Raster, rasterize
from handperception.synth.skin import SkinMap, skin_albedo, skin_variation

# Bumped whenever what the renderer draws changes, so cached training sets are rendered anew.
RENDERER_VERSION = 4
# Representative skin albedos (sRGB), light to dark, after Fitzpatrick-scale colour surveys.
SKIN_TONES = np.array(
    [
        [241, 204, 178],
        [228, 184, 152],
        [214, 160, 128],
        [190, 135, 100],
        [160, 104, 72],
        [122, 78, 52],
        [88, 56, 38],
    ],
    dtype=np.float64,
)
# A joint counts as occluded when the surface at its pixel belongs to another part or hand, or
# is nearer than its own skin by more than this (metres; absorbs pixel rounding). Its own skin
# lies up to SKIN_SPREAD times the mesh's skin_depth away: the far side of an oval section.
OCCLUSION_TOLERANCE = 0.004
SKIN_SPREAD = 1.4
# What each mesh vertex is: hand skin, forearm skin or sleeve cloth.
HAND, ARM, CLOTH = 0, 1, 2
# Specular weight per kind: cloth is matte.
_SHEEN = np.array([1.0, 1.0, 0.25], dtype=np.float32)


@dataclass(frozen=True)
class HandFrame:
    """One rendered frame with H hands.

    rgb (h, w, 3) uint8; depth (h, w) float32 metres, 0 = background; segmentation (h, w) uint8;
    keypoints_2d (H, 21, 2) float32 pixels; keypoints_3d (H, 21, 3) float32 metres, camera frame;
    visibility (H, 21) bool, joint inside the image and not hidden by nearer surface;
    K (3, 3) float64 intrinsics; is_left (H,) bool; pose (H, 15, 3), shape (H, 21),
    global_rotation (H, 3, 3) the generating parameters (see skeleton.kinematics); skin (H, 3)
    float32 sRGB albedo of each hand (to break results down by skin tone).
    """

    rgb: np.ndarray
    depth: np.ndarray
    segmentation: np.ndarray
    keypoints_2d: np.ndarray
    keypoints_3d: np.ndarray
    visibility: np.ndarray
    K: np.ndarray
    is_left: np.ndarray
    pose: np.ndarray
    shape: np.ndarray
    global_rotation: np.ndarray
    skin: np.ndarray


def sample_skin(rng: np.random.Generator) -> np.ndarray:
    """(3,) sRGB albedo anywhere along the palette (light to dark, interpolated between
    neighbouring tones), with a random undertone (olive to rosy) and brightness."""
    position = rng.uniform(0, len(SKIN_TONES) - 1)
    low = int(position)
    high = min(low + 1, len(SKIN_TONES) - 1)
    tone = SKIN_TONES[low] + (position - low) * (SKIN_TONES[high] - SKIN_TONES[low])
    undertone = rng.uniform(-1, 1) * np.array([4.0, -2.0, -6.0])
    return np.clip(tone * rng.uniform(0.92, 1.08) + undertone + rng.normal(0, 4, size=3), 0, 255)


@lru_cache(maxsize=1)
def _template_skin() -> tuple[SkinMap, np.ndarray]:
    """The skin layout of the rest hand (``synth.skin``: its bones as segments, the 15
    phalanges first, then the palm) and each template vertex's segment: the phalanx its
    dominant bone is, or the first palm segment."""
    template = load_hand_mesh()
    keypoints = template.rest_keypoints
    capsules = hand_capsules(keypoints, 1.0, False)
    skin_map = SkinMap.of_hands(keypoints[None], np.array([False]), [capsules])
    phalanx = {
        joints[level + 1]: 3 * finger + level
        for finger, joints in enumerate(FINGER_JOINTS)
        for level in range(3)
    }
    palm = 15
    by_joint = np.array([phalanx.get(joint, palm) for joint in DRIVES])
    dominant = np.asarray(template.weights.argmax(axis=1)).ravel()
    return skin_map, by_joint[dominant]


@lru_cache(maxsize=1)
def _open_faces() -> np.ndarray:
    """The template's faces with the wrist open for the forearm (``synth.arm.open_wrist``)."""
    return open_wrist(load_hand_mesh())


@dataclass(frozen=True)
class _Surfaces:
    """Every surface of a frame as one mesh: vertices, normals (V, 3) camera frame; faces (F, 3)
    counter-clockwise from outside; rest, rest_normal (V, 3) where the vertex sits on its
    unposed body (textures stay put on the skin); label (V,) uint8 segmentation label (0 on
    arms); hand (V,) which hand; kind (V,) HAND, ARM or CLOTH; segment (V,) skin segment of
    hand vertices (synth.skin's layout; unused on arms)."""

    vertices: np.ndarray
    normals: np.ndarray
    faces: np.ndarray
    rest: np.ndarray
    rest_normal: np.ndarray
    label: np.ndarray
    hand: np.ndarray
    kind: np.ndarray
    segment: np.ndarray


def _concatenate(parts: list[_Surfaces]) -> _Surfaces:
    offsets = np.cumsum([0] + [len(part.vertices) for part in parts[:-1]])
    values = {
        name: np.concatenate([getattr(part, name) for part in parts])
        for name in (
            "vertices",
            "normals",
            "rest",
            "rest_normal",
            "label",
            "hand",
            "kind",
            "segment",
        )
    }
    return _Surfaces(
        faces=np.concatenate([part.faces + offset for part, offset in zip(parts, offsets)]),
        **values,
    )


def _surface(
    rest: np.ndarray,
    rest_normal: np.ndarray,
    faces: np.ndarray,
    placed: tuple[np.ndarray, np.ndarray],
    is_left: bool,
    label: np.ndarray,
    hand: int,
    kind: int,
    segment: np.ndarray,
) -> _Surfaces:
    """One body's surface; `placed` its (vertices, normals) in the camera frame. A mirrored
    (left) body's faces are reversed to stay counter-clockwise seen from outside."""
    count = len(rest)
    return _Surfaces(
        vertices=placed[0],
        normals=placed[1],
        faces=faces[:, ::-1] if is_left else faces,
        rest=rest,
        rest_normal=rest_normal,
        label=np.broadcast_to(np.asarray(label, dtype=np.uint8), (count,)),
        hand=np.full(count, hand),
        kind=np.full(count, kind, dtype=np.int8),
        segment=np.broadcast_to(segment, (count,)),
    )


def _hand_surfaces(template: HandMesh, hands: HandParameters, looks: list[ArmLook]) -> _Surfaces:
    """Each hand's skinned mesh, forearm and sleeve, in the camera frame."""
    _, segment = _template_skin()
    hand_faces = _open_faces()
    parts = []
    for index, look in enumerate(looks):
        is_left = bool(hands.is_left[index])
        rotation, translation = hands.global_rotation[index], hands.translation[index]
        posed = template.pose(hands.pose[index], hands.shape[index], rotation, translation, is_left)
        labels = np.array([palm_label(is_left)] + [finger_label(is_left, f) for f in range(5)])
        parts.append(
            _surface(
                template.vertices,
                template.normals,
                hand_faces,
                posed,
                is_left,
                labels[template.finger + 1],
                index,
                HAND,
                segment,
            )
        )
        # The arm is rigid with the palm, which forward kinematics only scales, mirrors, turns
        # and moves.
        mirror = np.array([-1.0 if is_left else 1.0, 1.0, 1.0])
        scale = float(hands.shape[index, 0])
        for kind, tube in zip((ARM, CLOTH), arm_tubes(template, look)):
            if tube is None:
                continue
            normal = vertex_normals(tube.vertices, tube.faces)
            placed = (
                (scale * tube.vertices * mirror) @ rotation.T + translation,
                (normal * mirror) @ rotation.T,
            )
            parts.append(
                _surface(tube.vertices, normal, tube.faces, placed, is_left, 0, index, kind, -1)
            )
    return _concatenate(parts)


def _interpolate(values: np.ndarray, corners: np.ndarray, barycentric: np.ndarray) -> np.ndarray:
    """(M, D) float32: per-vertex values (V, D) float32 mixed at M pixels by their triangle's
    corners (M, 3) and barycentric weights (M, 3)."""
    mixed = barycentric[:, 0:1] * values[corners[:, 0]]
    mixed += barycentric[:, 1:2] * values[corners[:, 1]]
    mixed += barycentric[:, 2:3] * values[corners[:, 2]]
    return mixed


def _unit(vectors: np.ndarray) -> np.ndarray:
    length = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))
    return vectors / np.maximum(length, 1e-9)[:, None]


def _tone_variation(rng: np.random.Generator, surfaces: _Surfaces) -> np.ndarray:
    """(V, 3) float32 albedo factors per vertex: each hand's (and its forearm's) uneven skin
    tone, 1 on cloth. Per vertex and interpolated, as the tone varies over centimetres and
    vertices are ~10x fewer than the pixels they cover."""
    factors = np.ones((len(surfaces.vertices), 3), dtype=np.float32)
    for index in range(int(surfaces.hand.max()) + 1):
        skin = np.flatnonzero((surfaces.hand == index) & (surfaces.kind != CLOTH))
        factors[skin] = skin_variation(rng, surfaces.rest[skin])
    return factors


def _albedo(
    surfaces: _Surfaces,
    nearest: np.ndarray,
    rest: np.ndarray,
    rest_normal: np.ndarray,
    variation: np.ndarray,
    skins: np.ndarray,
    looks: list[ArmLook],
) -> np.ndarray:
    """(M, 3) float32 sRGB albedo of M pixels whose nearest vertices are `nearest` (M,), at rest
    points and rest normals (M, 3), with tone factors (M, 3): the hand's skin layout; forearm
    skin with the palmar tint on its underside; cloth."""
    skin_map, _ = _template_skin()
    hand, kind = surfaces.hand[nearest], surfaces.kind[nearest]
    albedo = np.empty((len(nearest), 3), dtype=np.float32)
    for index, look in enumerate(looks):
        on_hand = np.flatnonzero((hand == index) & (kind == HAND))
        on_arm = np.flatnonzero((hand == index) & (kind == ARM))
        on_cloth = np.flatnonzero((hand == index) & (kind == CLOTH))
        albedo[on_hand] = skin_map.albedos(
            rest[on_hand], rest_normal[on_hand], surfaces.segment[nearest[on_hand]], skins[[index]]
        )
        # The hand frame's +z is the back of the (rest, right) hand, and of the forearm.
        albedo[on_arm] = skin_albedo(
            skins[index], rest_normal[on_arm, 2], np.zeros(len(on_arm), bool)
        )
        albedo[on_cloth] = look.cloth.astype(np.float32)
    return albedo * variation


def _colour(
    rng: np.random.Generator,
    camera: PinholeCamera,
    raster: Raster,
    surfaces: _Surfaces,
    skins: np.ndarray,
    looks: list[ArmLook],
    scene_colour: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """sRGB colour (M, 3) float32 of the raster's covered pixels and their nearest vertex (M,)."""
    corners = surfaces.faces[raster.face[raster.rows, raster.cols]]
    nearest = corners[np.arange(len(corners)), raster.barycentric.argmax(axis=1)]
    # One gather for all attributes: gathers dominate the per-pixel cost.
    attributes = np.concatenate(
        [
            surfaces.normals,
            surfaces.vertices,
            surfaces.rest,
            surfaces.rest_normal,
            _tone_variation(rng, surfaces),
        ],
        axis=1,
    ).astype(np.float32)
    mixed = _interpolate(attributes, corners, raster.barycentric)
    normal, points = _unit(mixed[:, 0:3]), mixed[:, 3:6]
    rest, rest_normal, variation = mixed[:, 6:9], _unit(mixed[:, 9:12]), mixed[:, 12:15]
    albedo = _albedo(surfaces, nearest, rest, rest_normal, variation, skins, looks)
    occlusion = screen_occlusion(raster.depth, camera.fx)[raster.rows, raster.cols]
    lighting = sample_lighting(rng, scene_colour)
    radiance = shade(
        lighting, to_linear(albedo), normal, points, occlusion, _SHEEN[surfaces.kind[nearest]]
    )
    return to_srgb(radiance), nearest


def _allowed_labels(is_left: bool) -> np.ndarray:
    """(21, 2) the part labels a visible joint's pixel may carry: the wrist and the finger bases
    sit on the palm (bases also on their finger), other joints on their finger."""
    allowed = np.empty((21, 2), dtype=np.uint8)
    for joint in range(21):
        finger = finger_of_joint(joint)
        own = palm_label(is_left) if finger < 0 else finger_label(is_left, finger)
        base = finger >= 0 and joint == FINGER_JOINTS[finger][0]
        allowed[joint] = (own, palm_label(is_left) if base else own)
    return allowed


def visibility_of(
    camera: PinholeCamera,
    keypoints: np.ndarray,
    is_left: bool,
    skin_depth: np.ndarray,
    depth: np.ndarray,
    segmentation: np.ndarray,
) -> np.ndarray:
    """(21,) bool: the joint projects inside the image onto its own part of its own hand, and no
    surface there is nearer than its own skin.

    keypoints (21, 3) metres camera frame; skin_depth (21,) metres (the mesh's, scaled);
    depth (h, w) with +inf = empty; segmentation (h, w) part labels.
    """
    pixels = camera.project(keypoints)
    u, v = np.rint(pixels[:, 0]).astype(np.int64), np.rint(pixels[:, 1]).astype(np.int64)
    inside = (u >= 0) & (u < camera.width) & (v >= 0) & (v < camera.height)
    surface = np.full(len(keypoints), np.inf)
    label = np.zeros(len(keypoints), dtype=np.uint8)
    surface[inside] = depth[v[inside], u[inside]]
    label[inside] = segmentation[v[inside], u[inside]]
    own_part = (label[:, None] == _allowed_labels(is_left)).any(axis=1)
    near_enough = surface >= keypoints[:, 2] - SKIN_SPREAD * skin_depth - OCCLUSION_TOLERANCE
    return inside & own_part & near_enough


def render_hands(
    rng: np.random.Generator,
    camera: PinholeCamera,
    hands: HandParameters,
    skins: np.ndarray,
    background: np.ndarray | None = None,
    effects: bool = True,
    keypoints: np.ndarray | None = None,
) -> HandFrame:
    """Render N hands (parameters in the camera frame) over a background.

    skins: (N, 3) sRGB albedos. background: (h, w, 3) float/uint8 RGB or None for a random one.
    effects: apply motion blur / sensor noise / colour jitter / JPEG compression (synth.effects).
    keypoints: (N, 21, 3) hands.keypoints() when the caller already has them; None computes
    them. Needs the installed hand mesh (``make assets``).
    """
    if keypoints is None:
        keypoints = hands.keypoints()
    elif keypoints.shape != (len(hands.pose), 21, 3):
        raise ValueError(f"keypoints must be ({len(hands.pose)}, 21, 3), got {keypoints.shape}")
    n = len(keypoints)
    skins = np.asarray(skins, dtype=np.float64).reshape(n, 3)
    if background is None:
        # A fresh float32 array of our own: drawn on directly (a full-frame copy costs ~3 ms).
        image = random_background(rng, camera.height, camera.width, skins[0] if n else None)
    else:
        image = np.array(background, dtype=np.float32)
    if image.shape != (camera.height, camera.width, 3):
        raise ValueError(
            f"background must be ({camera.height}, {camera.width}, 3), got {image.shape}"
        )
    segmentation = np.zeros((camera.height, camera.width), dtype=np.uint8)
    depth = np.zeros((camera.height, camera.width), dtype=np.float32)
    visibility = np.zeros((n, 21), dtype=bool)
    if n:
        template = load_hand_mesh()
        looks = [sample_arm(rng) for _ in range(n)]
        surfaces = _hand_surfaces(template, hands, looks)
        raster = rasterize(camera, surfaces.vertices, surfaces.faces)
        scene_colour = np.array(cv2.mean(image)[:3])
        if len(raster.rows):
            colour, nearest = _colour(rng, camera, raster, surfaces, skins, looks, scene_colour)
            image[raster.rows, raster.cols] = colour
            segmentation[raster.rows, raster.cols] = surfaces.label[nearest]
        visibility = np.stack(
            [
                visibility_of(
                    camera,
                    keypoints[i],
                    bool(hands.is_left[i]),
                    template.skin_depth * hands.shape[i, 0],
                    raster.depth,
                    segmentation,
                )
                for i in range(n)
            ]
        )
        hand_pixels = segmentation > 0
        depth[hand_pixels] = raster.depth[hand_pixels]
    # In place from here on: each fresh full-frame temporary costs page faults (~3 ms at 640x480).
    cv2.GaussianBlur(image, (3, 3), 0.6, dst=image)
    if effects:
        image = apply_sensor_effects(rng, image)
    np.add(image, 0.5, out=image)
    np.clip(image, 0, 255, out=image)
    rgb = image.astype(np.uint8)
    if effects:
        rgb = jpeg_round_trip(rng, rgb)
    return HandFrame(
        rgb=rgb,
        depth=depth,
        segmentation=segmentation,
        keypoints_2d=camera.project(keypoints).astype(np.float32).reshape(n, 21, 2),
        keypoints_3d=keypoints.astype(np.float32),
        visibility=visibility,
        K=camera.matrix,
        is_left=np.asarray(hands.is_left, dtype=bool),
        pose=hands.pose,
        shape=hands.shape,
        global_rotation=hands.global_rotation,
        skin=skins.astype(np.float32),
    )
