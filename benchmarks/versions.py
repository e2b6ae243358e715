"""The versions a benchmark ran with, recorded in its results."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

import textgym

PACKAGES = ("gymnasium", "numpy", "torch", "stable-baselines3", "sb3-contrib", "scipy")
"""Packages whose versions decide benchmark numbers."""


def package_versions() -> dict[str, str]:
    """Python, textgym and :data:`PACKAGES` versions (``"not installed"`` for a missing package)."""
    versions = {"python": platform.python_version(), "textgym": textgym.__version__}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions
