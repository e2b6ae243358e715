"""The versions a benchmark ran with, recorded in its results."""

from __future__ import annotations

import functools
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import textgym

PACKAGES = ("gymnasium", "numpy", "torch", "stable-baselines3", "sb3-contrib", "scipy")
"""Packages whose versions decide benchmark numbers."""


def package_versions() -> dict[str, str]:
    """Python, textgym (its version and :func:`source_commit`) and :data:`PACKAGES` versions (``"not installed"``
    for a missing package)."""
    versions = {"python": platform.python_version(), "textgym": textgym.__version__, "commit": source_commit()}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@functools.lru_cache(maxsize=1)
def source_commit() -> str:
    """The git commit of the textgym source tree this process runs, with ``-dirty`` when tracked files differ
    from it (a task's draws may change without a version bump); ``"unknown"`` outside a git checkout."""
    source = Path(textgym.__file__).resolve().parent.parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=source, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != source:  # an installed copy inside another repo
            return "unknown"
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit
