"""Valid results with random contents, shared by the conversion and transport tests."""

import numpy as np

from handperception.results import HandEstimate


def make_hand(seed: int = 0, handedness: str = "right") -> HandEstimate:
    rng = np.random.default_rng(seed)
    joints = rng.normal(0, 0.04, (21, 3)) + [0.0, 0.0, 0.6]
    return HandEstimate(
        joints_3d=joints,
        joints_2d=rng.uniform(0, 640, (21, 2)),
        joint_confidence=rng.uniform(0, 1, 21),
        handedness=handedness,
        handedness_score=0.9,
        score=0.8,
        track_id=3,
        roi=(10, 20, 100, 120),
    )
