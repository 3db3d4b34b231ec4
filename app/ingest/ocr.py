"""OCR for PDF pages without a usable text layer (scans, often with a red seal), offline.

Pages are rendered with pypdfium2 and read by RapidOCR (PP-OCRv4 Chinese detection + recognition, ONNX models
bundled inside the `rapidocr-onnxruntime` wheel). A page with a usable text layer is never OCR'd; a page whose
text layer is empty or garbage (mojibake, private-use glyphs, replacement characters) is. Red seal ink is
whitened before recognition (red channel only), so a stamp over text neither hides the text nor adds the seal's words.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

DPI = 150  # rendering resolution; 12-pt text is ~25 px high, recognition works at 48 px lines
MAX_SIDE_PX = 4000  # larger pages are rendered smaller (memory), A4 at 150 dpi is 1240 × 1754
MAX_PAGES = 300  # pages OCR'd per document (~10 s each on 2 cores); the rest are named in a warning
MIN_SCORE = 0.5
_WHITE_POINT = 200  # red-channel level taken as paper: seal red (~215) and its pink edges read as white  # recognition confidence below which a line is dropped
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_READABLE = re.compile(r"[\u3400-\u9fff\uf900-\ufaffA-Za-z0-9]")
_USEFUL = re.compile(r"[\u3400-\u9fff\uf900-\ufaffA-Za-z0-9\s，。、；：？！（）《》“”‘’·—…,.;:?!()\-%/]")
_BAD = re.compile(r"[\ue000-\uf8ff\ufffd\x00-\x08\x0b\x0c\x0e-\x1f]|[\u00c0-\u00ff][\u0080-\u00bf]")
_LOCK = threading.Lock()  # one OCR at a time: the engine is shared and the cores are few

# (pages done, pages to OCR, page number, seconds this page took) → None; called after each OCR'd page
PageProgress = Callable[[int, int, int, float], None]


@dataclass(frozen=True)
class OcrOptions:
    threads: int = 2  # onnxruntime intra-op threads (the configured n_threads)
    on_page: PageProgress | None = None
    enabled: bool = True
    max_pages: int = MAX_PAGES


def available() -> bool:
    try:
        import pypdfium2  # noqa: F401
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def needs_ocr(text: str) -> bool:
    """True when a page's text layer is missing or garbage: too little text, or mostly characters no real
    Chinese/English text is made of (private-use glyphs of an unmapped font, U+FFFD, control characters,
    Latin-1 mojibake of UTF-8)."""
    body = re.sub(r"\s+", "", text)
    if len(body) < 5:
        return True
    bad = len(_BAD.findall(body))
    useful = len(_USEFUL.findall(body))
    if bad / len(body) > 0.1 or useful / len(body) < 0.6:
        return True
    # mojibake such as "µØÆÈÍ" is Latin letters with accents and no CJK at all
    latin_ext = sum(1 for ch in body if "\u00c0" <= ch <= "\u024f")
    return not _CJK.search(body) and latin_ext / len(body) > 0.3


def readable_chars(text: str) -> int:
    """Han characters, letters and digits: what OCR must beat for its text to replace a short text layer."""
    return len(_READABLE.findall(text))


@lru_cache(maxsize=2)
def _engine(threads: int):
    import cv2
    from rapidocr_onnxruntime import RapidOCR

    cv2.setNumThreads(max(1, threads))
    return RapidOCR(intra_op_num_threads=max(1, threads), inter_op_num_threads=1, print_verbose=False)


def ocr_pdf_pages(data: bytes, numbers: list[int], options: OcrOptions) -> tuple[dict[int, str], list[str]]:
    """OCR the 1-based `numbers` pages of a PDF: ({page: text}, warnings). A page that fails is named in a
    warning and left out; the others go on."""
    import pypdfium2 as pdfium

    out: dict[int, str] = {}
    warnings: list[str] = []
    if len(numbers) > options.max_pages:
        skipped = numbers[options.max_pages:]
        numbers = numbers[: options.max_pages]
        warnings.append(f"扫描页过多，仅识别前 {options.max_pages} 页，第{skipped[0]}页起未做 OCR / only the first "
                        f"{options.max_pages} scanned pages were OCR'd; pages from {skipped[0]} on were not")
    try:
        pdf = pdfium.PdfDocument(data)
    except Exception as exc:  # pypdf read it but pdfium cannot: the text layer is all there is
        warnings.append(f"PDF 页面无法渲染，未做 OCR / pages cannot be rendered for OCR ({type(exc).__name__})")
        return out, warnings
    try:
        for done, number in enumerate(numbers, start=1):
            start = time.perf_counter()
            try:
                image = _render(pdf[number - 1])
                out[number] = recognise(image, options.threads)
            except Exception as exc:  # a damaged page image must not stop the document
                warnings.append(f"第{number}页 OCR 失败，已跳过 / page {number}: OCR failed ({type(exc).__name__})")
            if options.on_page is not None:
                options.on_page(done, len(numbers), number, time.perf_counter() - start)
    finally:
        pdf.close()
    return out, warnings


def _render(page):
    import numpy as np

    width, height = page.get_size()  # points; a hostile page may claim to be metres wide
    scale = min(DPI / 72, MAX_SIDE_PX / max(width, height, 1.0))
    bitmap = page.render(scale=scale, grayscale=False)
    image = np.asarray(bitmap.to_pil().convert("RGB"))
    page.close()
    return image


def remove_seal(image):
    """Drop red/orange ink (seals, stamps, red headers) and keep black and blue print, also where a seal covers
    it: in the red channel red ink is light and print dark; clearly red pixels go to paper white and the light
    rest (the seal's JPEG-smeared pink edges) is stretched to white too."""
    import numpy as np

    rgb = image.astype(np.int32)
    red = rgb[..., 0]
    ink = (red > 110) & (red - np.maximum(rgb[..., 1], rgb[..., 2]) > 40)
    gray = np.clip(red * 255 // _WHITE_POINT, 0, 255)
    gray[ink] = 255
    gray = gray.astype(np.uint8)
    return np.stack([gray, gray, gray], axis=-1)


def recognise(image, threads: int = 2) -> str:
    """Text of one page image (H×W×3 RGB array), lines in reading order."""
    with _LOCK:
        result, _ = _engine(threads)(remove_seal(image), use_cls=False)
    return layout_lines(result or [])


def layout_lines(result: list) -> str:
    """RapidOCR boxes → text lines: boxes whose vertical centres lie within half a line height are one line,
    read left to right; a wide gap between boxes (a table column) becomes a space."""
    boxes = []
    for box, text, score in result:
        if float(score) < MIN_SCORE or not str(text).strip():
            continue
        ys = [p[1] for p in box]
        xs = [p[0] for p in box]
        boxes.append((min(ys), max(ys), min(xs), max(xs), str(text).strip()))
    boxes.sort(key=lambda b: ((b[0] + b[1]) / 2, b[2]))
    lines: list[list[tuple]] = []
    for box in boxes:
        centre, height = (box[0] + box[1]) / 2, box[1] - box[0]
        if lines:
            last = lines[-1][0]
            if abs((last[0] + last[1]) / 2 - centre) < 0.5 * max(height, last[1] - last[0]):
                lines[-1].append(box)
                continue
        lines.append([box])
    out = []
    for line in lines:
        line.sort(key=lambda b: b[2])
        text = line[0][4]
        for prev, box in zip(line, line[1:]):
            gap = box[2] - prev[3]
            text += (" " if gap > 0.8 * (box[1] - box[0]) else "") + box[4]
        out.append(text)
    return "\n".join(out)
