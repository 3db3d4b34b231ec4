"""Files the web server writes or hands out: private permissions, Gradio's temp dir, download copies.

- Everything under GEOHAZARD_HOME is for this account only: folders 0700, files 0600 (`secure_home`, plus a
  0077 umask for the serving process, so new files start private).
- Gradio's cache (GRADIO_TEMP_DIR) lives in GEOHAZARD_HOME/tmp, emptied at start, never in a shared /tmp
  another account could have pre-created.
- A file offered for download (a duty brief, a conversation export) is handed to Gradio as a copy in a fresh
  random folder inside that temp dir (`download_copy`): the saved versions themselves are never served, so
  their timestamped names cannot be guessed into downloads, and any GEOHAZARD_HOME works (Gradio serves only
  its temp dir, the working directory and /tmp).
- `redact_paths` takes absolute paths out of text shown to a user.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
import time
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
DOWNLOAD_TTL_S = 3600
_ABS_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[/\\][^\s/\\'\"<>|:]+){2,}")


def private_umask() -> None:
    """New files and folders of this process: owner only."""
    os.umask(0o077)


def secure_home(home: Path) -> None:
    """Make GEOHAZARD_HOME private: the folder and every folder inside 0700, every file 0600 (also fixes an
    install made before this rule). Symbolic links are left alone."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, DIR_MODE)
    for root, dirs, files in os.walk(home):
        for name in dirs:
            _chmod(Path(root) / name, DIR_MODE)
        for name in files:
            _chmod(Path(root) / name, FILE_MODE)


def _chmod(path: Path, mode: int) -> None:
    try:
        if not path.is_symlink():
            os.chmod(path, mode)
    except OSError:
        pass


def private_dir(path: Path) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def prepare_web_temp(temp_dir: Path) -> Path:
    """An empty, private Gradio temp dir; sets GRADIO_TEMP_DIR (read when components are built)."""
    temp_dir = Path(temp_dir)
    if temp_dir.is_dir() and not temp_dir.is_symlink():
        shutil.rmtree(temp_dir, ignore_errors=True)
    elif temp_dir.is_symlink():
        temp_dir.unlink()
    private_dir(temp_dir)
    os.environ["GRADIO_TEMP_DIR"] = str(temp_dir)
    return temp_dir


def download_copy(path: Path, temp_dir: Path, now: float | None = None) -> str:
    """A private copy of `path` (same file name) in a new random folder under `temp_dir`/downloads; copies
    older than an hour are removed on the way."""
    root = private_dir(Path(temp_dir) / "downloads")
    prune(root, DOWNLOAD_TTL_S, now)
    folder = private_dir(root / secrets.token_hex(16))
    target = folder / Path(path).name
    shutil.copyfile(path, target)
    os.chmod(target, FILE_MODE)
    return str(target)


def prune(root: Path, max_age_s: float, now: float | None = None) -> int:
    """Remove entries of `root` older than `max_age_s`; returns how many."""
    now = time.time() if now is None else now
    removed = 0
    for entry in Path(root).iterdir():
        try:
            if now - entry.lstat().st_mtime > max_age_s:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink()
                removed += 1
        except OSError:
            pass
    return removed


def write_private(path: Path, text: str) -> Path:
    """Write text to a file created 0600 (in a 0700 folder)."""
    path = Path(path)
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, FILE_MODE)
    return path


def replace_file(target: Path, data: bytes) -> Path:
    """Write `data` to `target` atomically (temp file + rename): a symbolic link at `target` is replaced, never
    followed."""
    target = Path(target)
    private_dir(target.parent)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temp, target)
    return target


def is_private(path: Path) -> bool:
    mode = stat.S_IMODE(Path(path).stat().st_mode)
    return mode & 0o077 == 0


def redact_paths(text: str) -> str:
    """Absolute paths in a message → '…/<file name>' (what a user may see of the server's disk)."""
    return _ABS_PATH.sub(lambda m: "…/" + re.split(r"[/\\]", m.group(0))[-1], text)


def public_source(source: str) -> str:
    """What the web shows of a document's path: its file name."""
    return Path(str(source).replace("\\", "/")).name if source else ""
