"""The forearm, and maybe a sleeve, behind each rendered hand.

Why: real hands come with arms. A hand that ends in a cut at the wrist is a synthetic tell (and
MediaPipe's palm detector, trained on real images, uses the arm as context), and a network
should learn that the skin-coloured tube beyond the wrist is not part of the hand's labels. The
arm is drawn but labelled background; it hides what is behind it like any surface.

Geometry, in the hand frame of the rest right hand (``hand_mesh.HandMesh``, metres): the
mesh's rounded wrist stub is cut open (``open_wrist``) and an elliptic tube continues its wall:
it starts just inside the stub and leaves it at a grazing angle, so no seam shows, then bends at
the wrist by a random flexion and deviation over its first centimetres and widens towards the
elbow; a sleeve is a looser tube from a random cuff distance on, with soft folds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handperception.synth.hand_mesh import HandMesh

# Rings along and points around each tube.
_RINGS, _AROUND = 10, 16
# The tube starts this far (metres) beyond the wrist joint, inside the mesh's stub, whose
# faces beyond WRIST_CUT are dropped (its rounded end) and whose cross-section is measured
# between the two.
_START, WRIST_CUT = 0.004, 0.010
# The wrist bends over this length of forearm (metres).
_BEND_LENGTH = 0.04
BARE_ARM_PROBABILITY = 0.25
# Cloth albedos (sRGB) sleeves are drawn around: black, greys, white, navy, denim, olive, brown,
# red, and a random colour.
CLOTH_COLOURS = np.array(
    [
        [25, 25, 28],
        [90, 90, 95],
        [160, 160, 160],
        [225, 225, 220],
        [30, 40, 80],
        [70, 95, 140],
        [85, 90, 50],
        [110, 75, 50],
        [150, 30, 35],
    ],
    dtype=np.float64,
)


@dataclass(frozen=True)
class ArmLook:
    """One arm: wrist flexion and deviation (radians), length (metres from the wrist), sleeve
    cuff distance (metres; inf: a bare arm), sleeve gap (metres beyond the skin), cloth colour
    (3,) sRGB and fold phase (radians)."""

    flexion: float
    deviation: float
    length: float
    cuff: float
    gap: float
    cloth: np.ndarray
    fold_phase: float


def sample_arm(rng: np.random.Generator) -> ArmLook:
    """A random arm: wrist within its comfortable range, bare a quarter of the time."""
    if rng.random() < 0.15:
        cloth = rng.uniform(0, 255, size=3)
    else:
        cloth = CLOTH_COLOURS[int(rng.integers(0, len(CLOTH_COLOURS)))] * rng.uniform(0.8, 1.2)
    return ArmLook(
        flexion=float(np.radians(rng.uniform(-40, 40))),
        deviation=float(np.radians(rng.uniform(-15, 25))),
        length=float(rng.uniform(0.25, 0.4)),
        cuff=np.inf if rng.random() < BARE_ARM_PROBABILITY else float(rng.uniform(0.02, 0.2)),
        gap=float(rng.uniform(0.004, 0.015)),
        cloth=np.clip(cloth, 0, 255),
        fold_phase=float(rng.uniform(0, 2 * np.pi)),
    )


@dataclass(frozen=True)
class Tube:
    """A closed tube mesh: vertices (V, 3) metres, faces (F, 3) counter-clockwise from outside,
    and along (V,) each vertex's distance from the wrist (metres)."""

    vertices: np.ndarray
    faces: np.ndarray
    along: np.ndarray


def open_wrist(template: HandMesh) -> np.ndarray:
    """The template's faces without its rounded wrist end (every corner beyond WRIST_CUT):
    the forearm continues the wall there instead of piercing the end at an angle."""
    beyond = template.vertices[template.faces][:, :, 1] < -WRIST_CUT
    return template.faces[~beyond.all(axis=1)]


def stub_section(template: HandMesh) -> tuple[np.ndarray, np.ndarray]:
    """Centre (x, z) and semi-axes (x, z) of the template's wrist stub, where the arm attaches."""
    vertices = template.vertices
    slab = vertices[(vertices[:, 1] < -_START) & (vertices[:, 1] > -WRIST_CUT)]
    low, high = slab[:, [0, 2]].min(axis=0), slab[:, [0, 2]].max(axis=0)
    return (low + high) / 2, (high - low) / 2


def _bend(flexion: float, deviation: float, fraction: np.ndarray) -> np.ndarray:
    """(K, 3, 3) rotations about the wrist by `fraction` (K,) of the flexion (about the hand's
    x axis, palm-wards) and deviation (about its z axis)."""
    fx, fz = flexion * fraction, deviation * fraction
    cx, sx, cz, sz = np.cos(fx), np.sin(fx), np.cos(fz), np.sin(fz)
    zero, one = np.zeros_like(fx), np.ones_like(fx)
    about_x = np.stack(
        [
            np.stack([one, zero, zero], -1),
            np.stack([zero, cx, -sx], -1),
            np.stack([zero, sx, cx], -1),
        ],
        -2,
    )
    about_z = np.stack(
        [
            np.stack([cz, -sz, zero], -1),
            np.stack([sz, cz, zero], -1),
            np.stack([zero, zero, one], -1),
        ],
        -2,
    )
    return about_z @ about_x


def tube(
    centre: np.ndarray,
    start: float,
    stop: float,
    semi_axes,
    rotations,
) -> Tube:
    """A capped tube from `start` to `stop` metres beyond the wrist (along the hand's -y).

    centre (2,): the section's (x, z); semi_axes(s, angle) -> (K, 2) semi-axes at distances s
    (K,) and angles (A,) (broadcast (K, A, 2)); rotations(s) -> (K, 3, 3) the bend at s.
    """
    along = np.linspace(start, stop, _RINGS)
    angle = 2 * np.pi * np.arange(_AROUND) / _AROUND
    axes = semi_axes(along[:, None], angle[None, :])
    ring = np.stack(
        [
            centre[0] + axes[..., 0] * np.cos(angle),
            np.broadcast_to(-along[:, None], axes[..., 0].shape),
            centre[1] + axes[..., 1] * np.sin(angle),
        ],
        axis=-1,
    )
    bend = rotations(along)
    ring = np.einsum("kij,kaj->kai", bend, ring).reshape(-1, 3)
    ends = np.stack(
        [bend[index] @ np.array([centre[0], -along[index], centre[1]]) for index in (0, -1)]
    )
    vertices = np.concatenate([ring, ends])
    a = np.arange(_AROUND)
    b = (a + 1) % _AROUND
    faces = []
    for k in range(_RINGS - 1):
        here, there = k * _AROUND, (k + 1) * _AROUND
        faces += [np.stack([here + a, here + b, there + a], 1)]
        faces += [np.stack([here + b, there + b, there + a], 1)]
    first, last = len(ring), len(ring) + 1
    faces += [np.stack([np.full(_AROUND, first), b, a], 1)]
    tail = (_RINGS - 1) * _AROUND
    faces += [np.stack([np.full(_AROUND, last), tail + a, tail + b], 1)]
    faces = np.concatenate(faces)
    return Tube(vertices, faces, np.concatenate([np.repeat(along, _AROUND), along[[0, -1]]]))


def arm_tubes(template: HandMesh, look: ArmLook) -> tuple[Tube, Tube | None]:
    """The forearm and the sleeve (None for a bare arm) of the rest right hand."""
    centre, stub = stub_section(template)

    def rotations(along: np.ndarray) -> np.ndarray:
        fraction = np.clip((along - _START) / _BEND_LENGTH, 0.0, 1.0)
        return _bend(look.flexion, look.deviation, fraction * fraction * (3 - 2 * fraction))

    def forearm(along: np.ndarray, angle: np.ndarray) -> np.ndarray:
        # Just inside the stub's wall at the start, just outside it at the cut.
        emerge = 0.97 + 0.05 * np.clip((along - _START) / (WRIST_CUT - _START), 0.0, 1.0)
        grow = np.clip(along / 0.2, 0.0, 1.0)
        width = stub[0] * (emerge + 0.3 * grow)
        depth = stub[1] * (emerge + 0.55 * grow)
        return np.stack(np.broadcast_arrays(width, depth + 0 * angle), axis=-1)

    arm = tube(centre, _START, look.length, forearm, rotations)
    if not np.isfinite(look.cuff):
        return arm, None

    def sleeve(along: np.ndarray, angle: np.ndarray) -> np.ndarray:
        folds = 1.0 + 0.06 * np.sin(5 * angle + look.fold_phase) * np.sin(40 * along)
        return (forearm(along, angle) + look.gap) * folds[..., None]

    return arm, tube(centre, min(look.cuff, look.length - 0.01), look.length, sleeve, rotations)
