"""MPIIGaze loader on a tiny fixture of normalised MATLAB day files and evaluation lists."""

import numpy as np
import pytest
import scipy.io
from fixtures_datasets import mpiigaze_eye, write_mpiigaze_day, write_mpiigaze_list

from handperception.data import MPIIGazeDataset, load_dataset
from handperception.data.mpiigaze import head_pitchyaw
from handperception.geometry.gaze import NormalizationSpec, pitchyaw_to_rotation

EYES = {
    ("p00", "day01"): (mpiigaze_eye(3, 1), mpiigaze_eye(3, 2)),
    ("p00", "day02"): (mpiigaze_eye(2, 3), mpiigaze_eye(2, 4)),
    ("p01", "day01"): (mpiigaze_eye(1, 5), mpiigaze_eye(1, 6)),  # one sample: MATLAB squeezes it
}


@pytest.fixture()
def root(tmp_path):
    for (person, day), (left, right) in EYES.items():
        write_mpiigaze_day(tmp_path, person, day, left, right)
    write_mpiigaze_list(tmp_path, "p00", ["day02/0002.jpg left", "day01/0001.jpg right"])
    write_mpiigaze_list(tmp_path, "p01", ["day01/0001.jpg left"])
    return tmp_path


def test_evaluation_subset_selects_listed_eyes(root):
    dataset = MPIIGazeDataset(root, "evaluation", progress=False)
    assert len(dataset) == 3
    item = dataset[1]  # p00 day01/0001.jpg right
    assert (item["person"], item["day"], item["filename"], item["side"]) == (
        "p00",
        "day01",
        "0001.jpg",
        "right",
    )
    right = EYES[("p00", "day01")][1]
    np.testing.assert_array_equal(item["image"], right["image"][0])
    assert item["image"].dtype == np.uint8 and item["image"].shape == (36, 60)
    np.testing.assert_allclose(item["gaze_vector"], right["gaze"][0], atol=1e-6)
    first = dataset[0]
    np.testing.assert_array_equal(first["image"], EYES[("p00", "day02")][0]["image"][1])
    last = dataset[2]
    assert last["person"] == "p01"
    np.testing.assert_array_equal(last["image"], EYES[("p01", "day01")][0]["image"][0])
    np.testing.assert_allclose(item["K"], NormalizationSpec().camera_matrix)


def test_gaze_and_head_conversion_hand_cases(tmp_path):
    left = {
        "gaze": np.array([[0.6, 0.0, -0.8], [0.0, -0.5, -np.sqrt(0.75)]]),
        "image": np.zeros((2, 36, 60), np.uint8),
        "pose": np.array([[0.0, 0.3, 0.0], [0.2, 0.0, 0.0]]),
    }
    write_mpiigaze_day(tmp_path, "p05", "day01", left, mpiigaze_eye(2, 9))
    write_mpiigaze_list(tmp_path, "p05", ["day01/0001.jpg left", "day01/0002.jpg left"])
    dataset = load_dataset("mpiigaze", tmp_path, "evaluation", progress=False)
    looking_right, looking_up = dataset[0], dataset[1]
    # (0.6, 0, -0.8): pitch = arcsin(0) = 0, yaw = arctan2(-0.6, 0.8) = -0.6435 (towards +x,
    # image right)
    np.testing.assert_allclose(looking_right["gaze_pitchyaw"], [0.0, -0.6435011], atol=1e-6)
    # (0, -0.5, -0.866): pitch = arcsin(0.5) = pi / 6 (up), yaw = 0
    np.testing.assert_allclose(looking_up["gaze_pitchyaw"], [np.pi / 6, 0.0], atol=1e-6)
    # Head turned 0.3 rad about y: its face (-z column) = (-sin 0.3, 0, -cos 0.3) -> yaw 0.3.
    np.testing.assert_allclose(looking_right["head_pitchyaw"], [0.0, 0.3], atol=1e-6)
    # 0.2 rad about x: face = (0, sin 0.2, -cos 0.2), pointing down -> pitch -0.2.
    np.testing.assert_allclose(looking_up["head_pitchyaw"], [-0.2, 0.0], atol=1e-6)
    # The project's own head rotation for those angles is the stored one (no roll here).
    for item in (looking_right, looking_up):
        np.testing.assert_allclose(
            pitchyaw_to_rotation(item["head_pitchyaw"]), item["head_rotation"], atol=1e-6
        )
    pitchyaw, rotation = head_pitchyaw(np.zeros(3))
    np.testing.assert_allclose(pitchyaw, [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(rotation, np.eye(3))


def test_all_split_and_person_selection(root):
    dataset = MPIIGazeDataset(root, "all", persons=("p00",), progress=False)
    assert len(dataset) == 10  # (3 + 2) samples x 2 eyes
    sides = [dataset[i]["side"] for i in range(len(dataset))]
    assert sides.count("left") == 5 and sides.count("right") == 5
    item = dataset[4]  # day01: left 0..2, right 0..2 -> index 4 = right, 0002.jpg
    assert (item["day"], item["side"], item["filename"]) == ("day01", "right", "0002.jpg")
    np.testing.assert_array_equal(item["image"], EYES[("p00", "day01")][1]["image"][1])


def test_missing_files_and_corrupt_entries(root, tmp_path_factory):
    with pytest.raises(FileNotFoundError, match="Normalized"):
        MPIIGazeDataset(tmp_path_factory.mktemp("empty"), progress=False)
    with pytest.raises(FileNotFoundError, match="p07"):
        MPIIGazeDataset(root, persons=("p07",), progress=False)
    (root / "Evaluation Subset" / "sample list for eye image" / "p01.txt").unlink()
    with pytest.raises(FileNotFoundError, match="sample list for eye image/p01.txt"):
        MPIIGazeDataset(root, progress=False)
    write_mpiigaze_list(root, "p01", ["day03/0001.jpg left"])
    with pytest.raises(ValueError, match="p01.txt: sample day03/0001.jpg is not in"):
        MPIIGazeDataset(root, progress=False)
    write_mpiigaze_list(root, "p01", ["day01/0001.jpg both"])
    with pytest.raises(ValueError, match="line 1"):
        MPIIGazeDataset(root, progress=False)
    bad = root / "Data" / "Normalized" / "p01" / "day01.mat"
    scipy.io.savemat(str(bad), {"data": {"left": mpiigaze_eye(1, 0), "right": mpiigaze_eye(1, 0)}})
    with pytest.raises(ValueError, match="day01.mat: expected variables 'data' and 'filenames'"):
        MPIIGazeDataset(root, "all", persons=("p01",), progress=False)
    nan_eye = mpiigaze_eye(2, 0)
    nan_eye["gaze"][1] = np.nan
    write_mpiigaze_day(root, "p01", "day01", nan_eye, mpiigaze_eye(2, 1))
    with pytest.raises(ValueError, match="day01.mat: left eye sample 1 has a NaN"):
        MPIIGazeDataset(root, "all", persons=("p01",), progress=False)
    with pytest.raises(ValueError, match="split"):
        MPIIGazeDataset(root, "train", progress=False)
