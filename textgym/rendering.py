"""The ``"rgb_array"`` render mode: an episode's text as an image, for video recorders and SB3's helpers.

Every frame of every environment has the same size (:data:`FRAME_SHAPE`), as video files need: the text is
wrapped at :data:`COLUMNS` characters a line and cut after :data:`LINES` lines (its end then shows ``...``). The
``"ansi"`` mode returns the whole text. Pillow draws the text; it is imported only when a frame is drawn.
"""

from __future__ import annotations

import textwrap
from functools import cache
from typing import Any

import numpy as np

COLUMNS = 64
"""Characters per line."""
LINES = 8
"""Lines per frame."""
LINE_HEIGHT = 18
"""Pixels per line."""
MARGIN = 6
"""Pixels around the text."""
FRAME_SHAPE = (2 * MARGIN + LINES * LINE_HEIGHT, 2 * MARGIN + COLUMNS * 9, 3)
"""(height, width, RGB) of every frame."""


@cache
def _font() -> Any:
    """Pillow's built-in font at a size that fits :data:`LINE_HEIGHT`."""
    from PIL import ImageFont

    return ImageFont.load_default(size=14)


def text_frame(text: str) -> np.ndarray:
    """``text`` drawn black on white, wrapped and cut to fit :data:`FRAME_SHAPE`: a ``uint8`` array of that
    shape."""
    from PIL import Image, ImageDraw

    lines = textwrap.wrap(text, COLUMNS, replace_whitespace=False, drop_whitespace=False) or [""]
    if len(lines) > LINES:
        lines = lines[: LINES - 1] + [lines[LINES - 1][: COLUMNS - 3] + "..."]
    height, width, _ = FRAME_SHAPE
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((MARGIN, MARGIN + number * LINE_HEIGHT), line, fill="black", font=_font())
    return np.asarray(image, dtype=np.uint8)
