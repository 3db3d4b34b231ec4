"""Make image-only ("scanned") PDFs from text, offline: each page's lines are drawn with a real CJK system font
(the box-glyph font of eval/pdfgen.py cannot be read back), optionally with a red seal over the text, rasterised
at `dpi` and saved as a PDF of page images with no text layer."""

from __future__ import annotations

from pathlib import Path

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
)


def cjk_font_path() -> Path | None:
    return next((Path(p) for p in FONT_CANDIDATES if Path(p).is_file()), None)


def render_page(lines: list[str], dpi: int = 150, seal: str | None = None):
    """An A4 page image (PIL) with `lines` in 12-pt text and an optional red round seal over them."""
    from PIL import Image, ImageChops, ImageDraw, ImageFont

    font_path = cjk_font_path()
    if font_path is None:
        raise RuntimeError("no CJK font installed (fonts-wqy-microhei)")
    px = dpi / 72
    width, height = round(595 * px), round(842 * px)
    font = ImageFont.truetype(str(font_path), round(12 * px))
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    top, step = round(60 * px), round(21 * px)
    for i, line in enumerate(lines):
        draw.text((round(57 * px), top + i * step), line, fill=(20, 20, 20), font=font)
    if seal:  # drawn on its own layer and multiplied in, as ink over print: black stays black under red
        layer = Image.new("RGB", image.size, "white")
        draw = ImageDraw.Draw(layer)
        cx, cy, r = width * 0.62, top + step * 6, round(70 * px)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(215, 30, 35), width=round(4 * px))
        seal_font = ImageFont.truetype(str(font_path), round(13 * px))
        draw.text((cx, cy), seal, fill=(215, 30, 35), font=seal_font, anchor="mm")
        draw.text((cx, cy - r * 0.55), "★", fill=(215, 30, 35), font=seal_font, anchor="mm")
        image = ImageChops.multiply(image, layer)
    return image


def make_scanned_pdf(path: Path, pages: list[list[str]], dpi: int = 150, seal: str | None = None) -> Path:
    """An image-only PDF: one rendered page image per list of lines (the seal, if any, on the first page)."""
    images = [render_page(lines, dpi, seal if i == 0 else None) for i, lines in enumerate(pages)]
    images[0].save(path, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return Path(path)
