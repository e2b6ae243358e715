"""The versions a benchmark ran with, recorded in its results."""

from __future__ import annotations

import functools
import json
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, distribution, version
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
    from it (a task's draws may change without a version bump). Outside a git checkout: the commit an install
    from git recorded (``pip install "git+file://...@COMMIT"`` writes it to ``direct_url.json``, PEP 610), else
    ``"unknown"``."""
    source = Path(textgym.__file__).resolve().parent.parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=source, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != source:  # an installed copy inside another repo
            return installed_commit()
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return installed_commit()
    return f"{commit}-dirty" if dirty else commit


def installed_commit() -> str:
    """The git commit that the installed textgym distribution was built from, as its ``direct_url.json`` records
    it for an install from a git URL; ``"unknown"`` otherwise."""
    try:
        direct_url = distribution("textgym").read_text("direct_url.json")
    except PackageNotFoundError:
        return "unknown"
    return json.loads(direct_url or "{}").get("vcs_info", {}).get("commit_id", "unknown")
