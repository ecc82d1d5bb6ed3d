"""Real photographs as backgrounds: random crops, scales, flips, defocus and colour casts.

Why photographs: procedural noise, stripes and shapes never look like the rooms, desks and
scenery behind real hands, so a detector trained on them learns "anything not procedural is a
hand"; a real photo behind the hand removes that shortcut. The photographs come from Debian
packages installed by name (``make assets``: mate-backgrounds' nature photographs and the
photographs among plasma-workspace-wallpapers; on Debian 12 gnome-backgrounds holds only rendered
abstract art) and are read from their installed place, never committed. Where they cannot be
installed (no root, no apt), scikit-image's sample photographs stand in, with a warning.
"""

from __future__ import annotations

import re
import warnings
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from handperception.synth.effects import wide_blur

# Installed photographs: (package, glob under /). Plasma's wallpapers also hold drawings, so its
# photographs are named; each comes in several sizes, of which the largest is read.
PHOTO_SOURCES: tuple[tuple[str, str], ...] = (
    ("mate-backgrounds", "/usr/share/backgrounds/mate/nature/*.jpg"),
) + tuple(
    ("plasma-workspace-wallpapers", f"/usr/share/wallpapers/{name}/contents/images/*.jpg")
    for name in (
        "BytheWater",
        "ColdRipple",
        "ColorfulCups",
        "DarkestHour",
        "EveningGlow",
        "FallenLeaf",
        "Grey",
        "Kite",
        "OneStandsOut",
        "Path",
        "summer_1am",
    )
)
SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
# Photos are kept at most this many pixels on their longer side: enough for 640x480 crops of a
# third of a photo, and ~2 MB each in memory.
MAX_SIDE = 960
# A crop spans this share of the photo's shorter side (a zoom from whole scene to detail).
CROP_SHARE = (0.25, 1.0)
# Defocus: a hand in focus in front of a farther scene; sigma as a share of the image's side.
DEFOCUS_PROBABILITY = 0.6
MAX_DEFOCUS_SHARE = 0.012


def installed_photo_paths(sources=None) -> list[Path]:
    """The installed photographs, one file per photograph, sorted (so seeds pick the same).

    Raises FileNotFoundError naming ``make assets`` when none is installed.
    """
    sources = PHOTO_SOURCES if sources is None else sources
    paths = []
    for _package, pattern in sources:
        found = sorted(Path("/").glob(pattern.lstrip("/")))
        if "/contents/images/" in pattern and found:
            found = [max(found, key=_pixel_count)]
        paths += found
    if not paths:
        packages = sorted({package for package, _ in sources})
        raise FileNotFoundError(
            f"no background photographs installed (looked for {', '.join(packages)}); "
            "run `make assets` (as root on Debian: tools/install_assets.sh installs them)"
        )
    return paths


def _pixel_count(path: Path) -> int:
    """Pixels of a wallpaper size named like ``1920x1080.jpg`` (0 if not so named)."""
    match = re.fullmatch(r"(\d+)x(\d+)", path.stem)
    return int(match[1]) * int(match[2]) if match else 0


def _fit(image: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) shrunk so its longer side is at most MAX_SIDE."""
    scale = MAX_SIDE / max(image.shape[:2])
    if scale >= 1:
        return np.ascontiguousarray(image)
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _read(path: Path) -> np.ndarray:
    """A photograph as RGB uint8, decoded at a reduced size when it is much larger (fast for
    JPEG, whose decoder scales by 1/2, 1/4, 1/8 while decoding)."""
    header = cv2.imread(str(path), cv2.IMREAD_REDUCED_COLOR_8)
    if header is None:
        raise OSError(f"cannot read the photograph {path}")
    longer = 8 * max(header.shape[:2])
    flag = cv2.IMREAD_COLOR
    for factor, reduced in ((4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2)):
        if longer / factor >= MAX_SIDE:
            flag = reduced
            break
    return _fit(cv2.cvtColor(cv2.imread(str(path), flag), cv2.COLOR_BGR2RGB))


@lru_cache(maxsize=1)
def photo_library() -> tuple[np.ndarray, ...]:
    """Every background photograph, RGB uint8, loaded once per process: the installed ones, or
    scikit-image's samples (with a warning) when none is installed."""
    try:
        return tuple(_read(path) for path in installed_photo_paths())
    except FileNotFoundError as error:
        warnings.warn(f"{error}; using scikit-image's sample photographs instead", stacklevel=2)
        import skimage.data

        return tuple(_fit(getattr(skimage.data, name)()[..., :3]) for name in SKIMAGE_PHOTOS)


def photo_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """(height, width, 3) float32 RGB in [0, 255], a fresh array: a random crop of a random
    photograph at a random zoom, maybe mirrored, maybe defocused, with a random colour cast."""
    library = photo_library()
    photo = library[int(rng.integers(0, len(library)))]
    rows, cols = photo.shape[:2]
    aspect = width / height
    side = rng.uniform(*CROP_SHARE) * min(rows, cols / aspect)
    crop_h, crop_w = max(2, int(side)), max(2, int(side * aspect))
    top = int(rng.integers(0, rows - crop_h + 1))
    left = int(rng.integers(0, cols - crop_w + 1))
    crop = photo[top : top + crop_h, left : left + crop_w]
    shrinking = crop_w > width
    image = cv2.resize(
        crop, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    ).astype(np.float32)
    if rng.random() < 0.5:
        image = np.ascontiguousarray(image[:, ::-1])
    if rng.random() < DEFOCUS_PROBABILITY:
        sigma = rng.uniform(0.3, 1.0) * MAX_DEFOCUS_SHARE * max(height, width)
        image = wide_blur(image, sigma)
    gain = rng.uniform(0.7, 1.2) * rng.uniform(0.9, 1.1, size=3)
    cv2.multiply(image, (*gain.tolist(), 0.0), dst=image)
    return image
