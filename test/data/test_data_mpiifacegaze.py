import numpy as np
import pytest
from fixtures_datasets import mpiifacegaze_label, write_mpiifacegaze_person

from handperception.data.mpiifacegaze import (
    EYE_CORNER_PX,
    MPIIFaceGazeDataset,
    cut_eye_patch,
    eye_corners,
    read_person,
)
from handperception.geometry.gaze import pitchyaw_to_vector


@pytest.mark.parametrize("v73", [False, True], ids=["matlab_v5", "matlab_v7.3_hdf5"])
def test_fixture_loads_with_the_right_angles_images_and_landmarks(tmp_path, v73):
    write_mpiifacegaze_person(tmp_path, "p00", 3, v73)
    write_mpiifacegaze_person(tmp_path, "p01", 2, v73)
    dataset = MPIIFaceGazeDataset(tmp_path, progress=False)
    assert len(dataset) == 5 and dataset.persons == ("p00", "p01")
    sample = dataset[2]
    assert sample["person"] == "p00" and sample["index"] == 2
    assert np.allclose(sample["gaze_pitchyaw"], [0.2, -0.1])
    assert np.allclose(sample["gaze_vector"], pitchyaw_to_vector(np.array([0.2, -0.1])), atol=1e-6)
    assert np.allclose(sample["head_pitchyaw"], [0.05, -0.1])
    assert np.allclose(sample["landmarks"][0], [14, 24])
    # stored B, G, R = 20, 100, 200 -> RGB; the dark band is on the image-left eye's row
    assert sample["rgb"].shape == (64, 64, 3)
    assert sample["rgb"][40, 40].tolist() == [200, 100, 20]
    assert sample["rgb"][24, 15].tolist() == [0, 0, 0]


def test_eye_patches_are_cut_around_each_eye(tmp_path):
    write_mpiifacegaze_person(tmp_path, "p00", 2)
    dataset = MPIIFaceGazeDataset(tmp_path, ("p00",), eye_patches=True, progress=False)
    sample = dataset[0]
    right, left = sample["right_eye"], sample["left_eye"]
    assert right.shape == left.shape == (36, 60) and right.dtype == np.uint8
    # The dark band crosses the image-left (subject's right) eye only, through its centre row.
    assert right[18, 30] < 20 and left[18, 30] > 60
    rights, lefts = dataset.eye_patches()
    assert rights.shape == (2, 36, 60) and np.array_equal(rights[0], right)


def test_corner_pairs_are_assigned_by_position():
    landmarks = np.array(mpiifacegaze_label(1)[0, 4:16]).reshape(6, 2)
    swapped = landmarks[[2, 3, 0, 1, 4, 5]]
    for points in (landmarks, swapped):
        right, left = eye_corners(points)
        assert right[:, 0].mean() < left[:, 0].mean()


def test_patch_scale_puts_corners_the_synthetic_distance_apart():
    grey = np.zeros((100, 100), np.uint8)
    grey[50, 30] = grey[50, 52] = 255  # corners 22 px apart -> scale 2
    patch = cut_eye_patch(grey, np.array([[30.0, 50.0], [52.0, 50.0]]))
    columns = np.nonzero(patch[17:19].max(axis=0) > 30)[0]
    assert columns.max() - columns.min() == pytest.approx(EYE_CORNER_PX, abs=3)
    with pytest.raises(ValueError, match="too close"):
        cut_eye_patch(grey, np.array([[30.0, 50.0], [30.5, 50.0]]))


def test_bad_files_raise(tmp_path):
    with pytest.raises(FileNotFoundError):
        MPIIFaceGazeDataset(tmp_path, progress=False)
    (tmp_path / "p00.mat").write_bytes(b"not a mat file")
    with pytest.raises(ValueError, match="p00.mat"):
        read_person(tmp_path / "p00.mat")
    import scipy.io

    scipy.io.savemat(
        str(tmp_path / "p01.mat"),
        {"Data": {"data": np.zeros((8, 8, 3, 2), np.uint8), "label": np.full((16, 2), np.nan)}},
    )
    with pytest.raises(ValueError, match="NaN"):
        read_person(tmp_path / "p01.mat")
