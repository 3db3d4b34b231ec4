"""What ingest works on and reports: the files named (folders expanded) and one result per file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class IngestResult:
    path: str
    status: str  # added | updated | unchanged | failed | skipped
    chunks: int = 0
    message: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "failed"


def expand_paths(paths: list[Path]) -> list[tuple[Path, bool]]:
    """Files to ingest, with a flag telling whether the user named the file itself."""
    out: list[tuple[Path, bool]] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(part.startswith(".") for part in child.relative_to(path).parts):
                    out.append((child, False))
        else:
            out.append((path, True))
    return out
