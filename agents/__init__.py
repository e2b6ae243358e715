"""Agents behind one small protocol (:class:`textgym.agents.base.Agent`): ``learn``, ``predict``, ``save``, ``load``.

:func:`make_agent` builds one by name: a built-in name from :data:`AGENTS`, a ``"package.module:factory"``
path, or a name that a third-party package registers in the entry-point group ``textgym.agents``.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from textgym.agents.base import Agent

ENTRY_POINT_GROUP = "textgym.agents"

AGENTS: dict[str, str] = {
    "random": "textgym.agents.random_agent:RandomAgent",
    "supervised": "textgym.agents.supervised:SupervisedAgent",
    "pg": "textgym.agents.pg:PolicyGradientAgent",
    "sb3-ppo": "textgym.agents.sb3:PPOAgent",
    "sb3-a2c": "textgym.agents.sb3:A2CAgent",
    "sb3-dqn": "textgym.agents.sb3:DQNAgent",
    "sb3-maskable-ppo": "textgym.agents.sb3:MaskablePPOAgent",
    "sb3-ppo-transformer": "textgym.agents.sb3:TransformerPPOAgent",
}
"""Built-in agents: name -> ``"module:factory"`` (imported only when used, so torch loads only when needed)."""


def load_factory(path: str) -> Any:
    """The object at ``"package.module:attribute"``; ``ValueError`` naming the path when it cannot be found."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"agent factory {path!r} must look like 'package.module:factory'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"agent factory {path!r}: cannot import module {module_name!r} ({error})") from error
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ValueError(f"agent factory {path!r}: module {module_name!r} has no attribute {attribute!r}") from None


def available_agents() -> list[str]:
    """Built-in names and the names registered by installed packages under ``textgym.agents``."""
    return sorted(set(AGENTS) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def make_agent(name: str, seed: int = 0, **kwargs: Any) -> Agent:
    """Build the agent ``name`` with ``seed`` and its keyword options.

    Args:
        name: a name from :func:`available_agents` or a ``"package.module:factory"`` path; the factory (a class
            or a function) is called as ``factory(seed=seed, **kwargs)`` and must return an object with the
            agent protocol.
        seed: the agent's seed.
        **kwargs: the agent's options.
    """
    if name in AGENTS:
        factory = load_factory(AGENTS[name])
    elif ":" in name:
        factory = load_factory(name)
    else:
        matches = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
        if not matches:
            raise ValueError(
                f"unknown agent {name!r}; expected one of {available_agents()} or 'package.module:factory'"
            )
        factory = matches[0].load()
    agent = factory(seed=seed, **kwargs)
    missing = [method for method in ("learn", "predict", "save", "load") if not callable(getattr(agent, method, None))]
    if missing:
        raise ValueError(f"agent {name!r} lacks the protocol method(s) {missing}; see textgym.agents.base.Agent")
    return agent


__all__ = ["AGENTS", "ENTRY_POINT_GROUP", "Agent", "available_agents", "load_factory", "make_agent"]
