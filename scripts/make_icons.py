"""Draw the app icons once (needs Pillow and the IPAex Gothic font); the PNGs are committed.

.venv/bin/pip install pillow && .venv/bin/python scripts/make_icons.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ICONS = Path(__file__).resolve().parent.parent / "pwa" / "icons"
FONT = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"
GREEN = (29, 93, 58, 255)
WHITE = (255, 255, 255, 255)
GOLD = (242, 183, 0, 255)
SUPERSAMPLE = 4


def draw(size: int, *, full_bleed: bool, content: float) -> Image.Image:
    """A green tile with a white card bearing 生協; `content` is the share the card may use."""
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if full_bleed:
        pen.rectangle((0, 0, big, big), fill=GREEN)
    else:
        pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.18, fill=GREEN)
    # The card: portrait, white, with a gold band, like the one on the screen.
    card_h = big * content
    card_w = card_h * 0.72
    left = (big - card_w) / 2
    top = (big - card_h) / 2
    pen.rounded_rectangle((left, top, left + card_w, top + card_h), radius=card_w * 0.1, fill=WHITE)
    band = card_h * 0.16
    pen.rounded_rectangle((left, top, left + card_w, top + band), radius=card_w * 0.1, fill=GOLD)
    pen.rectangle((left, top + band / 2, left + card_w, top + band), fill=GOLD)
    font = ImageFont.truetype(FONT, int(card_w * 0.36))
    text = "生協"
    box = pen.textbbox((0, 0), text, font=font)
    text_w, text_h = box[2] - box[0], box[3] - box[1]
    pen.text(
        (big / 2 - text_w / 2 - box[0], top + card_h * 0.42 - text_h / 2 - box[1]),
        text,
        font=font,
        fill=GREEN,
    )
    # Three lines standing for the name and number.
    for i, share in enumerate((0.7, 0.55, 0.4)):
        y = top + card_h * (0.66 + i * 0.1)
        width = card_w * share
        pen.rounded_rectangle(
            (big / 2 - width / 2, y, big / 2 + width / 2, y + card_h * 0.04),
            radius=card_h * 0.02,
            fill=GREEN,
        )
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    """Write every icon the manifest and base.html name."""
    ICONS.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw(size, full_bleed=False, content=0.74).save(ICONS / f"icon-{size}.png", optimize=True)
        # Maskable: everything inside the centre circle of 80 % (the safe zone).
        draw(size, full_bleed=True, content=0.62).convert("RGB").save(
            ICONS / f"icon-maskable-{size}.png", optimize=True
        )
    # The browser tab's icon, small so that a cold page load stays light.
    draw(48, full_bleed=False, content=0.74).save(ICONS / "favicon-48.png", optimize=True)
    # iOS rounds the corners itself and shows transparency as black.
    draw(180, full_bleed=True, content=0.74).convert("RGB").save(
        ICONS / "apple-touch-icon.png", optimize=True
    )


if __name__ == "__main__":
    main()
