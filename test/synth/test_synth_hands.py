"""Renderer, scenes, splits and dataset of the synthetic hand engine."""

import numpy as np
import pytest

from handperception.geometry.camera import PinholeCamera
from handperception.skeleton.kinematics import HandParameters
from handperception.skeleton.parts import finger_label, hand_of_label
from handperception.synth.dataset import ShardDataset, SynthHandDataset, write_shards
from handperception.synth.render import render_hands
from handperception.synth.scenes import full_frame, hand_crop, two_hand_crop
from handperception.synth.splits import load_split, make_split, parse_ranges

SPEC = load_split("interpolation")


def _ranges(**overrides):
    axes = {
        "shape": {"scale": {"train": [0.85, 1.15], "test": [0.75, 1.25]}},
        "articulation": {"amplitude": {"train": [0.0, 0.7], "test": [0.0, 1.0]}},
        "viewpoint": {
            "azimuth_deg": {"train": [-90, 90], "test": [-180, 180]},
            "elevation_deg": {"train": [-45, 45], "test": [-90, 90]},
        },
        "object": {"size_m": {"train": [0.04, 0.1], "test": [0.02, 0.16]}},
    }
    axes.update(overrides)
    return axes


def test_visible_joints_project_onto_their_hand():
    hits, total, tips_on_finger, tips = 0, 0, 0, 0
    for index in range(6):
        frame = two_hand_crop(SPEC, "train", 3, index, 96)
        owner = hand_of_label(frame.segmentation)
        for hand in range(2):
            visible = frame.visibility[hand]
            uv = np.rint(frame.keypoints_2d[hand][visible]).astype(int)
            expected = 1 if frame.is_left[hand] else 2
            hits += int((owner[uv[:, 1], uv[:, 0]] == expected).sum())
            total += int(visible.sum())
            for finger, tip in enumerate((4, 8, 12, 16, 20)):
                if visible[tip]:
                    u, v = np.rint(frame.keypoints_2d[hand, tip]).astype(int)
                    tips += 1
                    tips_on_finger += frame.segmentation[v, u] == finger_label(
                        bool(frame.is_left[hand]), finger
                    )
    assert total > 100
    assert hits / total > 0.97
    assert tips_on_finger / tips > 0.9


def test_two_hand_occlusion_matches_each_hand_rendered_alone():
    frame = two_hand_crop(SPEC, "train", 0, 0, 96)  # a crop where the hands overlap
    camera = PinholeCamera.from_matrix(frame.K, 96, 96)
    background = np.zeros((96, 96, 3))
    hands = HandParameters(
        frame.pose, frame.shape, frame.global_rotation, np.zeros((2, 3)), frame.is_left
    )
    # Recover each hand's translation from its rendered wrist so the same scene is re-rendered.
    rest = hands.keypoints()
    hands = HandParameters(
        frame.pose,
        frame.shape,
        frame.global_rotation,
        frame.keypoints_3d[:, 0] - rest[:, 0],
        frame.is_left,
    )
    skins = np.full((2, 3), 200.0)
    rng = np.random.default_rng(0)
    both = render_hands(rng, camera, hands, skins, background, effects=False)
    alone = [
        render_hands(
            rng,
            camera,
            HandParameters(
                *(
                    getattr(hands, f)[[i]]
                    for f in ("pose", "shape", "global_rotation", "translation", "is_left")
                )
            ),
            skins[[i]],
            background,
            effects=False,
        )
        for i in range(2)
    ]
    depths = np.stack([np.where(a.depth > 0, a.depth, np.inf) for a in alone])
    # Arms are drawn (labelled background) and differ between renders: compare where both hands
    # are and the pair's render shows a hand, which must be the nearer one at its depth.
    overlap = np.isfinite(depths).all(axis=0) & (both.segmentation > 0)
    assert overlap.sum() > 20, "the two hands should overlap in this crop"
    nearer = np.argmin(depths, axis=0)
    np.testing.assert_allclose(both.depth[overlap], depths.min(axis=0)[overlap], rtol=1e-6)
    expected_owner = np.where(frame.is_left[nearer], 1, 2)
    assert (hand_of_label(both.segmentation)[overlap] == expected_owner[overlap]).all()
    # Both hands visible somewhere, and the nearer one hides part of the farther one.
    assert set(np.unique(hand_of_label(both.segmentation))) == {0, 1, 2}


def test_same_seed_same_bytes_different_index_different_image():
    first, again = hand_crop(SPEC, "train", 5, 7, 64), hand_crop(SPEC, "train", 5, 7, 64)
    for name in ("rgb", "depth", "segmentation", "keypoints_2d", "visibility"):
        assert getattr(first, name).tobytes() == getattr(again, name).tobytes()
    assert first.rgb.tobytes() != hand_crop(SPEC, "train", 5, 8, 64).rgb.tobytes()
    assert first.rgb.tobytes() != hand_crop(SPEC, "test", 5, 7, 64).rgb.tobytes()


def test_frame_outputs_have_documented_types_and_ranges():
    frame = full_frame(SPEC, "train", 0, 2, 160, 120, n_hands=2)
    assert frame.rgb.shape == (120, 160, 3) and frame.rgb.dtype == np.uint8
    assert frame.depth.dtype == np.float32 and frame.segmentation.dtype == np.uint8
    assert frame.keypoints_2d.shape == (2, 21, 2) and frame.visibility.shape == (2, 21)
    assert list(frame.is_left) == [True, False]
    labelled = frame.segmentation > 0
    assert ((frame.depth > 0) == labelled).all()
    assert frame.segmentation.max() <= 12
    empty = full_frame(SPEC, "train", 0, 2, 160, 120, n_hands=0)
    assert empty.keypoints_2d.shape == (0, 21, 2) and not empty.segmentation.any()


def test_extrapolation_samples_leave_the_train_range_on_one_axis_only():
    spec = make_split("extrapolation:viewpoint", parse_ranges(_ranges()))
    rng = np.random.default_rng(0)
    for _ in range(200):
        view = spec.sample(rng, "viewpoint", "test")
        assert not (-90 <= view["azimuth_deg"] <= 90 and -45 <= view["elevation_deg"] <= 45)
        assert 0.85 <= spec.sample(rng, "shape", "test")["scale"] <= 1.15
        train = spec.sample(rng, "viewpoint", "train")
        assert -90 <= train["azimuth_deg"] <= 90
    interpolation = make_split("interpolation", parse_ranges(_ranges()))
    assert 0.85 <= interpolation.sample(rng, "shape", "test")["scale"] <= 1.15


@pytest.mark.parametrize(
    "name, axes, message",
    [
        ("extrapolation:colour", _ranges(), "unknown axis 'colour'"),
        ("sideways", _ranges(), "unknown split mode"),
        (
            "interpolation",
            _ranges(object={"size_m": {"train": [-0.1, 0.1], "test": [0.02, 0.16]}}),
            "object.size_m.train must not be negative",
        ),
        (
            "interpolation",
            _ranges(shape={"scale": {"train": [1.1, 0.9], "test": [0.75, 1.25]}}),
            "shape.scale.train is an empty range",
        ),
        (
            "interpolation",
            _ranges(shape={"scale": {"train": [0.9, 1.1]}}),
            "shape.scale must have exactly",
        ),
        ("interpolation", _ranges(gaze={}), "unknown axis"),
        (
            "extrapolation:shape",
            _ranges(shape={"scale": {"train": [0.75, 1.25], "test": [0.8, 1.2]}}),
            "entirely inside",
        ),
    ],
)
def test_bad_specs_raise_clear_errors(name, axes, message):
    with pytest.raises(ValueError, match=message):
        make_split(name, parse_ranges(axes))


def test_dataset_items_are_deterministic_and_shards_round_trip(tmp_path):
    dataset = SynthHandDataset(SPEC, "train", "two_hands", length=5, seed=1, size=48)
    paths = write_shards(dataset, tmp_path, shard_size=2, progress=False)
    assert [p.name for p in paths] == ["shard_00000.npz", "shard_00001.npz", "shard_00002.npz"]
    shards = ShardDataset(tmp_path)
    assert len(shards) == 5
    for index in (0, 3, 4):
        item = dataset[index]
        for name, array in shards[index].items():
            np.testing.assert_array_equal(array, item[name])
    assert shards[4]["keypoints_3d"].shape == (2, 21, 3)
    with pytest.raises(ValueError, match="unknown dataset kind"):
        SynthHandDataset(SPEC, kind="eyes")
