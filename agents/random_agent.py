"""The uniformly random agent: the floor every benchmark reports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from textgym.agents.base import Agent, Callback, EnvLike, batch_observations, check_total_steps, reading_checkpoint
from textgym.agents.envs import as_vector_env


class RandomAgent(Agent):
    """Picks every action uniformly from the action space; ``learn`` only reads the vocabulary size and takes no
    environment steps.

    Args:
        seed: seeds the action sampler.
        vocab_size: the action space size, when known before ``learn`` (otherwise taken from the environment).
    """

    def __init__(self, seed: int = 0, vocab_size: int | None = None) -> None:
        super().__init__(seed)
        self.vocab_size = vocab_size
        self.rng = np.random.default_rng(seed)

    def learn(self, env: EnvLike, total_steps: int, callback: Callback | None = None) -> RandomAgent:
        check_total_steps(total_steps)
        vector_env = as_vector_env(env, num_envs=1, seed=self.seed)
        self.vocab_size = int(vector_env.single_action_space.n)
        if callback is not None:
            callback({"env_steps": self.num_env_steps})
        return self

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        if self.vocab_size is None:
            raise RuntimeError("RandomAgent.predict needs the vocabulary size: call learn(env, ...) first")
        return self.rng.integers(0, self.vocab_size, size=len(batch_observations(obs)), dtype=np.int64)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"seed": self.seed, "vocab_size": self.vocab_size}))

    @classmethod
    def load(cls, path: str | Path) -> RandomAgent:
        """A new agent with the seed and vocabulary size saved at ``path``.

        Args:
            path: the file :meth:`save` wrote.
        """
        with reading_checkpoint(path, cls.__name__):
            state = json.loads(Path(path).read_text())
            return cls(seed=state["seed"], vocab_size=state["vocab_size"])
