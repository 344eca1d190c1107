"""Data the notebooks use, all shipped inside installed packages: nothing is downloaded."""

from __future__ import annotations

import matplotlib.cbook
import matplotlib.image
import numpy as np


def grace_hopper_rgb() -> np.ndarray:
    """matplotlib's sample photo of Grace Hopper, ``(600, 512, 3)`` floats in ``[0, 1]``."""
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as file:
        return matplotlib.image.imread(file, format="jpg").astype(np.float64) / 255.0


def grace_hopper_grey() -> np.ndarray:
    """The same photo in grey (ITU-R BT.601 luma), ``(600, 512)`` floats in ``[0, 1]``."""
    return grace_hopper_rgb() @ np.array([0.299, 0.587, 0.114])
