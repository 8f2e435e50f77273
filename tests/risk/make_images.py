"""Writes the evidence photos of tests/fixtures/risk/ (run once: ``python -m tests.risk.make_images``; the files are
committed, so the tests do not depend on Pillow's encoder producing the same bytes on every release).

- ``original.jpg``: a "photo" (shapes, gradients and noise, so its perceptual hash has structure), 640×480;
- ``resized.jpg``: the same photo scaled to 400×300 and saved again at a lower JPEG quality (a re-upload);
- ``cropped.jpg``: the same photo with 2 % cut from each side (a screenshot of it);
- ``different.jpg``: another photo made the same way from another seed.
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "risk"


def photo(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    rng = random.Random(seed)  # noqa: S311 -- a reproducible picture, not a secret
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    base = [rng.randrange(256) for _ in range(3)]
    for y in range(height):  # a background gradient
        shade = tuple(int(c * (0.4 + 0.6 * y / height)) for c in base)
        draw.line([(0, y), (width, y)], fill=shade)
    for _ in range(14):  # objects
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(40, 260), y0 + rng.randrange(40, 200)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        else:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
    return image.filter(ImageFilter.GaussianBlur(1.5))


def main() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    original = photo(14)
    original.save(FIXTURES / "original.jpg", quality=90)
    original.resize((400, 300), Image.Resampling.LANCZOS).save(FIXTURES / "resized.jpg", quality=60)
    width, height = original.size
    dx, dy = int(width * 0.02), int(height * 0.02)
    original.crop((dx, dy, width - dx, height - dy)).save(FIXTURES / "cropped.jpg", quality=85)
    photo(41).save(FIXTURES / "different.jpg", quality=90)


if __name__ == "__main__":
    main()
