"""Where an uploaded file may be written: a name that cannot leave the upload directory.

`safe_upload_path` keeps only the last path component of whatever name a browser sent, removes what a
file system or a later reader could misread (NUL and control characters, bidi overrides, '..', leading dots,
drive letters, Windows separators and reserved characters), keeps Chinese names as they are, and adds
"-1", "-2" … before the extension when the name is taken. Callers should still open the file with mode "xb"
(exclusive create) and ask again if that fails, since another upload may take the name in between.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

MAX_NAME_BYTES = 200  # a file name is at most 255 bytes on common file systems; leave room for "-123"
FALLBACK = "upload"
_UNSAFE = re.compile(r'[<>:"|?*]')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


def safe_upload_name(filename: str | None) -> str:
    """A single, harmless file name derived from a client-supplied one (no directory part)."""
    name = unicodedata.normalize("NFC", str(filename or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]  # strip directories, either separator
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    name = _UNSAFE.sub("_", name)
    name = " ".join(name.split())  # runs of spaces (incl. full-width ones) → one space
    name = name.strip(" .")  # no hidden files, no '..', no trailing dot (Windows drops it)
    if _WINDOWS_RESERVED.match(name):
        name = "_" + name
    stem, suffix = _split(name)
    if len(suffix.encode()) > 20:  # not a real extension
        stem, suffix = name, ""
    stem = _truncate(stem, MAX_NAME_BYTES - len(suffix.encode())).rstrip(" .")
    if not stem:
        stem = FALLBACK
    return stem + suffix


def safe_upload_path(uploads_dir: Path, filename: str | None) -> Path:
    """A path directly inside `uploads_dir` for this upload, not yet taken (a dangling symlink counts as taken)."""
    uploads_dir = Path(uploads_dir)
    name = safe_upload_name(filename)
    stem, suffix = _split(name)
    candidate, n = uploads_dir / name, 0
    while os.path.lexists(candidate):
        n += 1
        candidate = uploads_dir / f"{stem}-{n}{suffix}"
    return candidate


def _split(name: str) -> tuple[str, str]:
    dot = name.rfind(".")
    if dot <= 0:
        return name, ""
    return name[:dot], name[dot:]


def _truncate(text: str, max_bytes: int) -> str:
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", errors="ignore")
