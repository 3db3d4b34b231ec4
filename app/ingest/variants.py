"""Character variants for search: traditional characters folded to simplified (OpenCC `t2s`, dictionaries
bundled in the `opencc` wheel, no network), so a traditional-character plan answers a simplified question and
vice versa. Only what the indexes see (BM25 tokens, the text given to the embedder, the query) is folded; the
text shown and cited stays as written."""

from __future__ import annotations

import re
import threading
from functools import lru_cache

_LOCK = threading.Lock()
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")  # text without Han characters needs no folding


@lru_cache(maxsize=1)
def _converter():
    try:
        import opencc
    except ImportError:  # without OpenCC search works as before, only without folding
        return None
    return opencc.OpenCC("t2s")


def fold(text: str) -> str:
    """The text with traditional characters replaced by simplified ones (same text if OpenCC is missing)."""
    if not text or not _HAN.search(text):
        return text
    converter = _converter()
    if converter is None:
        return text
    with _LOCK:  # the OpenCC converter is not documented as thread-safe
        return converter.convert(text)

