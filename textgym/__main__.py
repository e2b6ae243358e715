"""``python -m textgym`` (console script ``textgym-demo``): play and print a few episodes of several environments
with a uniformly random policy and with the oracle that types the reference answer."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import gymnasium as gym

import textgym
from textgym.env import TextGenEnv


def play(env_id: str, policy: str, episodes: int, seed: int) -> list[str]:
    """Play ``episodes`` episodes of ``env_id`` with ``policy`` (``"random"`` or ``"oracle"``); return one line each."""
    env = gym.make(env_id, render_mode="ansi", split="test")
    env.action_space.seed(seed)
    lines = []
    for episode in range(episodes):
        _, info = env.reset(seed=seed + episode)
        base = env.unwrapped
        assert isinstance(base, TextGenEnv)
        actions = iter(base.task.oracle_actions(base.example)) if policy == "oracle" and base.example else None
        terminated = False
        while not terminated:
            action = next(actions) if actions is not None else env.action_space.sample()
            _, reward, terminated, _, info = env.step(action)
        lines.append(f"{env.render():<40} score={info['score']:.2f} success={info['success']}")
    env.close()
    return lines


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer ``>= low``, else an argparse error (usage, the message, exit status 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
        return value

    return parse


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and print the episodes. A bad option (an ID that is not a registered textgym ID, a
    count of episodes below 1, a negative seed) prints the usage and the error, and exits with status 2."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--envs",
        nargs="+",
        choices=textgym.ENV_IDS,
        metavar="ID",
        default=["textgym/Copy-v0", "textgym/Addition-v0", "textgym/Dyck-v0"],
        help="registered textgym IDs (default: %(default)s)",
    )
    parser.add_argument("--episodes", type=int_at_least(1), default=3, help="episodes per policy (default: 3)")
    parser.add_argument("--seed", type=int_at_least(0), default=0, help="seed of the first episode (default: 0)")
    args = parser.parse_args(argv)
    for env_id in args.envs:
        for policy in ("random", "oracle"):
            print(f"== {env_id}  ({policy} policy)")
            for line in play(env_id, policy, args.episodes, args.seed):
                print("   " + line)
    print(f"\n{len(textgym.ENV_IDS)} registered IDs: {', '.join(textgym.ENV_IDS)}")


if __name__ == "__main__":
    main()
