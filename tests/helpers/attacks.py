"""Attack inputs shared by tests: the real ones, not toy stand-ins."""

from __future__ import annotations

from pathlib import Path


def billion_laughs(levels: int = 9, key: str = "tags") -> str:
    """YAML whose last key expands to ``9 ** (levels + 1)`` strings through aliases ("billion laughs")."""
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        lines.append(f"lol{i}: &lol{i} [" + ", ".join([f"*lol{i - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\n{key}: *lol{levels}\n"


def write_padded(path: Path, text: str, megabytes: int = 21) -> Path:
    """``text`` followed by ``megabytes`` MiB of YAML comment lines (a valid, huge policy file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        fh.write(text)
        chunk = "# " + "x" * 1021 + "\n"
        for _ in range(megabytes * 1024):
            fh.write(chunk)
    return path
