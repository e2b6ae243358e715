"""Whether a policy tells one-symbol from two-symbol Reverse prompts where it must: at the second answer slot, which
is ``<eos>`` after a one-symbol prompt and the prompt's first symbol after a two-symbol one.

    python docs/results/solve/stop_probe.py pg MAX_LENGTH STEPS [PG_OPTIONS] [right]
    python docs/results/solve/stop_probe.py teacher MAX_LENGTH STEPS

``pg``: ``make_agent("pg", seed=0)`` (with the JSON object PG_OPTIONS) learns Reverse at ``max_length`` MAX_LENGTH
with dense rewards and the length curriculum held at 2 (prompts of one or two symbols, in prompt slots sized for
MAX_LENGTH); ``right`` moves each prompt to the end of its slots (pads first), through an observation wrapper.
``teacher``: the same model, fresh, trained by cross-entropy at that slot alone on all 30 such prompts (full batch,
Adam 3e-4), STEPS updates. Every 10,000 steps (50 updates for ``teacher``) it prints the mean probability of
``<eos>`` at the second answer slot after each prompt length, given the right first symbol. One torch thread.
"""

import json
import sys
import time

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from textgym.agents import make_agent
from textgym.agents.transformer import TransformerConfig, TransformerPolicy

SYMBOLS = range(3, 8)  # Reverse's symbols a to e
EOS = 1


def probe_rows(model: TransformerPolicy, right: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``model``'s input for every one- and two-symbol prompt followed by its right first answer symbol, and the
    right second answer token of each."""
    prompts, first_symbols, targets = [], [], []
    for prompt in [[a] for a in SYMBOLS] + [[a, b] for a in SYMBOLS for b in SYMBOLS]:
        pads = [0] * (model.config.prompt_len - len(prompt))
        prompts.append(pads + prompt if right else prompt + pads)
        first_symbols.append([prompt[-1]])
        targets.append(EOS if len(prompt) == 1 else prompt[0])
    return model.sequence(torch.tensor(prompts), torch.tensor(first_symbols)), torch.tensor(targets)


def eos_probability(model: torch.nn.Module, rows: torch.Tensor) -> dict[str, float]:
    with torch.no_grad():
        logits, _ = model(rows)
    p_eos = F.softmax(logits[:, -1], dim=-1)[:, EOS]
    return {"one_symbol": round(float(p_eos[:5].mean()), 3), "two_symbols": round(float(p_eos[5:].mean()), 3)}


class RightAligned(gym.vector.VectorObservationWrapper):
    """Each observation's prompt at the end of the prompt slots, the pads before it."""

    def observations(self, obs: np.ndarray) -> np.ndarray:
        P = self.env.unwrapped.prompt_len
        shift = P - (obs[:, :P] != 0).sum(axis=1)
        aligned = obs.copy()
        aligned[:, :P] = np.take_along_axis(obs[:, :P], (np.arange(P) - shift[:, None]) % P, axis=1)
        return aligned


def run_pg(max_length: int, steps: int, options: dict, right: bool) -> None:
    agent = make_agent("pg", seed=0, **options)
    env = gym.make_vec(
        "textgym/Reverse-v0",
        num_envs=agent.config.num_envs,
        max_length=max_length,
        reward_mode="dense",
        curriculum={"start": 2, "threshold": 1.0, "window": 10**9},  # never raised
    )
    env = RightAligned(env) if right else env
    began, next_report = time.perf_counter(), 10_000

    def report(progress: dict) -> None:
        nonlocal next_report
        if progress["env_steps"] < next_report:
            return
        next_report += 10_000
        rows, _ = probe_rows(agent.model, right)
        line = {"env_steps": progress["env_steps"], "sampled_success": round(progress["success"], 3)}
        line.update(p_eos=eos_probability(agent.model, rows), wall_s=round(time.perf_counter() - began))
        print(json.dumps(line), flush=True)

    agent.learn(env, steps, callback=report)


def run_teacher(max_length: int, steps: int) -> None:
    torch.manual_seed(0)
    config = TransformerConfig(vocab_size=8, prompt_len=max_length, max_len=2 * max_length + 2)
    model = TransformerPolicy(config)
    rows, targets = probe_rows(model, right=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
    for update in range(1, steps + 1):
        logits, _ = model(rows)
        loss = F.cross_entropy(logits[:, -1], targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if update % 50 == 0:
            line = {"update": update, "loss": round(loss.item(), 3), "p_eos": eos_probability(model, rows)}
            print(json.dumps(line), flush=True)


def main() -> None:
    torch.set_num_threads(1)
    mode, max_length, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if mode == "teacher":
        run_teacher(max_length, steps)
    else:
        right = sys.argv[-1] == "right"
        rest = sys.argv[4 : len(sys.argv) - right]
        run_pg(max_length, steps, json.loads(rest[0]) if rest else {}, right)


if __name__ == "__main__":
    main()
