"""Joint-angle samplers: uniform, grasp-like synergies, smooth trajectories for video.

Why three: uniform sampling covers the joint-limit box (robustness, but mostly unnatural
poses); real hands move in a low-dimensional synergy space (Santello et al. 1998), so most
training poses are mixtures of a few canonical postures; video needs temporally smooth motion
with human angular velocities. All samplers take a ``np.random.Generator`` so callers seed
them per item, and every output respects ``JOINT_LIMITS``.
"""

from __future__ import annotations

import numpy as np

from handperception.skeleton.kinematics import JOINT_LIMITS, NUM_POSE_JOINTS, JointLimits


def _posture(thumb: list, fingers: list[list]) -> np.ndarray:
    """Degrees per joint (flexion, abduction, twist) -> (15, 3) radians."""
    return np.radians(np.array([thumb] + fingers, dtype=np.float64).reshape(NUM_POSE_JOINTS, 3))


def _finger(mcp: float, pip: float, dip: float, spread: float = 0.0) -> list:
    return [(mcp, spread, 0), (pip, 0, 0), (dip, 0, 0)]


# Canonical postures spanning everyday hand use; mixtures of them approximate the first
# principal components of grasp data (open/close, thumb opposition, index isolation).
SYNERGY_POSTURES: dict[str, np.ndarray] = {
    "open": _posture(
        [(0, 25, 0), (0, 0, 0), (0, 0, 0)],
        [_finger(0, 0, 0, 12), _finger(0, 0, 0, 0), _finger(0, 0, 0, -10), _finger(0, 0, 0, -18)],
    ),
    "relaxed": _posture(
        [(15, 20, 5), (15, 0, 0), (15, 0, 0)],
        [
            _finger(25, 35, 15, 4),
            _finger(30, 40, 18),
            _finger(35, 45, 20, -4),
            _finger(40, 50, 22, -8),
        ],
    ),
    "power": _posture(
        [(40, 35, 15), (45, 0, 0), (40, 0, 0)],
        [_finger(85, 100, 60), _finger(88, 105, 65), _finger(88, 105, 65), _finger(85, 100, 60)],
    ),
    "pinch": _posture(
        [(35, 40, 15), (20, 0, 0), (25, 0, 0)],
        [_finger(50, 55, 30), _finger(35, 40, 20), _finger(45, 50, 25), _finger(55, 60, 30)],
    ),
    "point": _posture(
        [(40, 10, 10), (50, 0, 0), (30, 0, 0)],
        [_finger(0, 0, 0, 5), _finger(85, 100, 60), _finger(88, 100, 60), _finger(85, 95, 55)],
    ),
}
_SYNERGY_MATRIX = np.stack(list(SYNERGY_POSTURES.values()))
# Per-component noise around a mixture (deg): flexion varies most, twist least.
_NOISE_DEG = np.array([7.0, 3.0, 1.5])


def sample_uniform_poses(
    rng: np.random.Generator, n: int, limits: JointLimits = JOINT_LIMITS
) -> np.ndarray:
    """(n, 15, 3) radians, each angle uniform within its limits."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return rng.uniform(limits.lower, limits.upper, size=(n, NUM_POSE_JOINTS, 3))


def sample_synergy_poses(
    rng: np.random.Generator,
    n: int,
    amplitude: np.ndarray | float = 1.0,
    concentration: float = 0.4,
    limits: JointLimits = JOINT_LIMITS,
) -> np.ndarray:
    """(n, 15, 3) radians: Dirichlet mixtures of SYNERGY_POSTURES plus joint noise.

    amplitude: scalar or (n,) in [0, 1]; scales the pose towards the zero (flat hand) pose, the
    articulation axis of the splits. concentration < 1 favours poses near one posture.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    amplitude = np.broadcast_to(np.asarray(amplitude, dtype=np.float64), (n,))
    if np.any((amplitude < 0) | (amplitude > 1)) or not np.all(np.isfinite(amplitude)):
        raise ValueError("amplitude must be within [0, 1]")
    if concentration <= 0:
        raise ValueError(f"concentration must be positive, got {concentration}")
    weights = rng.dirichlet(np.full(len(_SYNERGY_MATRIX), concentration), size=n)
    mixed = np.einsum("nk,kjc->njc", weights, _SYNERGY_MATRIX)
    noisy = mixed + rng.normal(size=mixed.shape) * np.radians(_NOISE_DEG)
    # Every limit box contains the zero pose, so scaling a clipped pose towards it stays inside.
    return limits.clip(noisy) * amplitude[:, None, None]


def sample_pose_trajectory(
    rng: np.random.Generator,
    n_frames: int,
    fps: float = 30.0,
    max_speed_deg_s: float = 250.0,
    amplitude: float = 1.0,
) -> np.ndarray:
    """(n_frames, 15, 3) radians: smooth motion through random synergy key poses.

    Consecutive key poses are joined by a cosine ease (zero velocity at keys, C1-continuous);
    each segment lasts long enough that no joint's peak speed, pi/2 * delta / duration, exceeds
    max_speed_deg_s (human finger joints rarely exceed ~300 deg/s outside ballistic motion).
    Key poses lie within the limits, and the ease never leaves the segment between them.
    """
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    if fps <= 0 or max_speed_deg_s <= 0:
        raise ValueError(f"fps and max_speed_deg_s must be positive, got {fps}, {max_speed_deg_s}")
    max_step = np.radians(max_speed_deg_s) / fps
    frames = [sample_synergy_poses(rng, 1, amplitude)[0]]
    while len(frames) < n_frames:
        start = frames[-1]
        target = sample_synergy_poses(rng, 1, amplitude)[0]
        delta = target - start
        duration = max(int(np.ceil(np.pi / 2 * np.abs(delta).max() / max_step)), 4)
        phases = np.arange(1, duration + 1) / duration
        ease = (1.0 - np.cos(np.pi * phases)) / 2.0
        frames.extend(start + ease[:, None, None] * delta)
    return np.stack(frames[:n_frames])
