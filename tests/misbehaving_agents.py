"""Agents that misbehave, for the runner's guarantees (``tests/test_run_guarantees.py``). A module of their own,
light to import, so that a worker process running one of their trials starts it at once."""

import os
import signal
import sys
import time

from textgym.agents.random_agent import RandomAgent


def agent_path(agent_class: type) -> str:
    """The ``"module:Class"`` name a suite gives an agent class (``make_agent`` imports it)."""
    return f"{agent_class.__module__}:{agent_class.__name__}"


class NanStepsAgent(RandomAgent):
    """Reports a step count that is not a number."""

    def learn(self, env, total_steps, callback=None):
        super().learn(env, total_steps, callback)
        if total_steps > 0:
            self.num_env_steps = float("nan")
        return self


class ExitingAgent(RandomAgent):
    """Ends its process politely in the middle of training."""

    def learn(self, env, total_steps, callback=None):
        super().learn(env, total_steps, callback)
        if total_steps > 0:
            sys.exit(3)
        return self


class DyingAgent(RandomAgent):
    """Its process dies while training, as on a segfault or the out-of-memory killer."""

    def learn(self, env, total_steps, callback=None):
        super().learn(env, total_steps, callback)
        if total_steps > 0:
            os._exit(3)
        return self


class HangingAgent(RandomAgent):
    """Never finishes training."""

    def learn(self, env, total_steps, callback=None):
        super().learn(env, total_steps, callback)
        while total_steps > 0:
            time.sleep(0.05)
        return self


class StubbornAgent(RandomAgent):
    """Never finishes training, and ignores the time limit's alarm (as code stuck in one C call does)."""

    def learn(self, env, total_steps, callback=None):
        super().learn(env, total_steps, callback)
        if total_steps > 0:
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            while True:
                time.sleep(0.05)
        return self


class SlowAgent(RandomAgent):
    """Takes a second to train."""

    def learn(self, env, total_steps, callback=None):
        super().learn(env, total_steps, callback)
        if total_steps > 0:
            time.sleep(1.0)
        return self


class RaisingAgent(RandomAgent):
    """Training blows up with an exception."""

    def learn(self, env, total_steps, callback=None):
        super().learn(env, total_steps, callback)
        if total_steps > 0:
            raise RuntimeError(f"learning exploded (seed {self.seed})")
        return self
