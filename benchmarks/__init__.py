"""Benchmarks: the benchmark runner and the throughput benchmarks; they depend on agents and textgym."""

from pathlib import Path

RL_ZOO_DIR = Path(__file__).parent / "rl_zoo"
"""RL Baselines3 Zoo hyper-parameter files for textgym's IDs (``ppo.yml``, ``a2c.yml``, ``dqn.yml``)."""
