"""A tiny app for tests/test_confusion_browser.py: the shared confusion section on made-up predictions of two models."""

import numpy as np

from ui.confusion import confusion_section, image_examples

Y_TRUE = np.array([0, 1, 2, 1, 2, 2, 0, 1])
PREDICTIONS = {"A": np.array([0, 2, 2, 1, 1, 2, 0, 2]), "B": np.array([1, 2, 2, 1, 1, 2, 0, 0])}
IMAGES = np.arange(8 * 8 * 8, dtype=np.uint8).reshape(8, 8, 8, 1)

confusion_section(PREDICTIONS, Y_TRUE, ("zero", "one", "two"), key="demo", show_examples=image_examples(IMAGES))
