"""Reading an SB3 checkpoint as data, never as code.

An SB3 ``.zip`` keeps some entries of its ``data`` file (the policy class, the spaces, the schedules, the last
observations) as base64 pickles, and SB3's ``load`` unpickles them with cloudpickle: a crafted file runs whatever
its pickle says. :func:`safe_custom_objects` unpickles those entries itself, allowing only classes of the modules
an SB3 checkpoint legitimately names (SB3, sb3-contrib, Gymnasium's spaces, torch's optimizers, this package's
feature extractor) and numpy's array and random-state reconstructors, and hands the results to SB3's ``load`` as
``custom_objects``, so SB3 unpickles nothing. The ``.pth`` tensors SB3 loads with ``weights_only``.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

from textgym.agents.base import CheckpointError

SAFE_MODULES = (
    "collections",
    "gymnasium.spaces",
    "numpy",
    "sb3_contrib.common",
    "stable_baselines3.common",
    "stable_baselines3.dqn.policies",
    "torch.optim",
    "textgym.agents.sb3",
)
"""Modules whose classes a checkpoint's pickled entries may name."""

NUMPY_RECONSTRUCTORS = frozenset(
    {"_frombuffer", "_reconstruct", "scalar", "__generator_ctor", "__bit_generator_ctor", "__pyx_unpickle_SeedSequence"}
)
"""numpy functions (not classes) that rebuild arrays, scalars and random generators from their pickles."""


class _DataUnpickler(pickle.Unpickler):
    """An unpickler that builds only classes of :data:`SAFE_MODULES` and numpy's reconstructors."""

    def find_class(self, module: str, name: str) -> Any:
        if not any(module == safe or module.startswith(safe + ".") for safe in SAFE_MODULES):
            raise pickle.UnpicklingError(f"it names {module}.{name}, which a checkpoint has no need of")
        found = super().find_class(module, name)
        if isinstance(found, type) or (module.split(".")[0] == "numpy" and name in NUMPY_RECONSTRUCTORS):
            return found
        raise pickle.UnpicklingError(f"it names the function {module}.{name}, which a checkpoint has no need of")


def safe_custom_objects(path: str | Path) -> dict[str, Any]:
    """Every pickled entry of the SB3 checkpoint at ``path``, unpickled as data, by its name in ``data`` (for
    SB3's ``load(..., custom_objects=...)``); :class:`~textgym.agents.base.CheckpointError` naming the entry that holds
    anything else."""
    with zipfile.ZipFile(path) as archive:
        data = json.loads(archive.read("data"))
    objects = {}
    for key, value in data.items():
        if isinstance(value, dict) and ":serialized:" in value:
            try:
                objects[key] = _DataUnpickler(io.BytesIO(base64.b64decode(value[":serialized:"]))).load()
            except Exception as error:
                raise CheckpointError(f"{str(path)!r}: entry {key!r} of its data is refused: {error}") from None
    return objects
