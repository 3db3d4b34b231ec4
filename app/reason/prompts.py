"""Prompt templates as versioned files in prompts/; variables are checked when a template loads."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path

import yaml

_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_SECTION = re.compile(r"^=== (system|user) ===\s*$", re.MULTILINE)


class PromptError(ValueError):
    pass


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    variables: frozenset[str]
    system: str
    user: str

    @property
    def tag(self) -> str:
        return f"{self.name}.v{self.version}"

    def render(self, **values: str) -> list[dict]:
        missing = self.variables - values.keys()
        unknown = values.keys() - self.variables
        if missing or unknown:
            raise PromptError(f"prompt {self.tag}: missing {sorted(missing)}, unknown {sorted(unknown)}")
        return [
            {"role": "system", "content": self.system.format(**values)},
            {"role": "user", "content": self.user.format(**values)},
        ]


def load_prompt(prompts_dir: Path, name: str) -> Prompt:
    path = Path(prompts_dir) / f"{name}.md"
    text = path.read_text(encoding="utf-8")
    front = _FRONT.match(text)
    if not front:
        raise PromptError(f"{path}: no front matter")
    meta = yaml.safe_load(front.group(1)) or {}
    declared = frozenset(meta.get("variables") or [])
    parts = _SECTION.split(text[front.end():])
    sections = dict(zip(parts[1::2], (p.strip() for p in parts[2::2])))
    if set(sections) != {"system", "user"}:
        raise PromptError(f"{path}: needs '=== system ===' and '=== user ===' sections")
    used = {f for s in sections.values() for _, f, _, _ in string.Formatter().parse(s) if f}
    if used != declared:
        raise PromptError(
            f"{path}: template uses {sorted(used)} but declares {sorted(declared)}"
            f" (undeclared: {sorted(used - declared)}, unused: {sorted(declared - used)})"
        )
    return Prompt(str(meta.get("name", name)), str(meta.get("version", "0")), declared,
                  sections["system"], sections["user"])
