"""Single-answer tasks beyond their demonstrations: what PG after a warm start on weak demonstrations adds, over
the KL coefficient, on sentiment continuation and keywords to sentence.

For each seed: teacher forcing on the task's weak demonstrations (``demonstrator="weak"``; sentiment: a
mixed-sentiment corpus, 2/5 positive, 2/5 mixed, 1/5 negative; keywords: sentences that cover only some of the
concepts) for 600,000 answer tokens, then, from copies of that warm-started policy, PG with each KL coefficient
(the task's default reward). Every policy is evaluated on 200 validation and 200 test prompts, greedy and sampled
(temperature 1): the mean score and the task's two measures of the trade-off (sentiment: the score against the
fluency, 1 / bigram perplexity; keywords: the concept coverage against ROUGE-L to the references, the two factors
of its score). The demonstrations themselves are measured on 300 test prompts.

The KL coefficient is chosen on validation: the highest first measure whose second stays at or above a floor
(sentiment: 90% of the warm-started policy's fluency; keywords: its ROUGE-L); the test split reports it.

    python docs/results/beyond_imitation/single_answer.py TASK OUT_DIR [SEED ...]    # TASK: sentiment or keywords

Writes OUT_DIR/seed<S>.json per seed (skipped when present, so the script resumes), then OUT_DIR/summary.json and
OUT_DIR/tradeoff.png over every seed present. One torch thread.
"""

import copy
import json
import sys
import time
from pathlib import Path

import gymnasium as gym
import matplotlib
import numpy as np
import torch

from textgym.agents import make_agent
from textgym.agents.evaluation import evaluate
from textgym.tasks import make_task

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TASKS = {
    "sentiment": {
        "task": "SentimentContinuation",
        "pg_steps": 60_000,
        "kl_coefs": (0.1, 0.3, 1.0, 3.0),
        "measures": ("score", "fluency"),  # the first is raised, the second kept above the floor
        "floor": 0.9,
    },
    "keywords": {
        "task": "KeywordsToSentence",
        "pg_steps": 100_000,
        "kl_coefs": (0.03, 0.1, 0.3, 1.0),
        "measures": ("coverage", "rouge_l"),
        "floor": 1.0,
    },
}
ENV_OPTIONS = {"demonstrator": "weak"}
WARM_START_TOKENS = 600_000
SPLITS = ("validation", "test")
DECODINGS = {"greedy": True, "sampled": False}


def measured(agent, env_id: str, split: str) -> dict[str, dict[str, float]]:
    """Score, success and the task's reported numbers, greedy and sampled, on 200 prompts of ``split``."""
    results = {}
    for decoding, deterministic in DECODINGS.items():
        result = evaluate(agent, env_id, 200, split=split, deterministic=deterministic, **ENV_OPTIONS)
        results[decoding] = {key: round(value, 4) for key, value in result.items() if key != "episodes"}
    return results


def demonstrations(task_name: str) -> dict[str, float]:
    """The weak demonstrations' mean score and reported numbers on 300 test prompts (drawn with seed 0)."""
    task = make_task(task_name, **ENV_OPTIONS)
    rng = np.random.default_rng(0)
    examples = [task.sample(rng, "test") for _ in range(300)]
    rows = []
    for example in examples:
        answer = task.demonstration(example)[0][:-1]
        rows.append({"score": task.score(answer, example), **task.final_info(answer, example)})
    return {key: round(float(np.mean([row[key] for row in rows])), 4) for key in rows[0]}


def run_seed(setup: dict, seed: int) -> dict:
    began = time.perf_counter()
    env_id = f"textgym/{setup['task']}-v0"
    warmed = make_agent("pg", seed=seed, warm_start_steps=WARM_START_TOKENS, kl_coef=setup["kl_coefs"][0])
    env = gym.make_vec(env_id, num_envs=warmed.config.num_envs, **ENV_OPTIONS)
    warmed.learn(env, WARM_START_TOKENS)
    result = {"seed": seed, "supervised": {split: measured(warmed, env_id, split) for split in SPLITS}}
    for kl_coef in setup["kl_coefs"]:
        agent = copy.deepcopy(warmed)
        agent.config.kl_coef = agent.kl_coef = kl_coef
        agent.learn(env, setup["pg_steps"])
        result[f"pg kl={kl_coef}"] = {split: measured(agent, env_id, split) for split in SPLITS}
        print(seed, kl_coef, json.dumps(result[f"pg kl={kl_coef}"]), flush=True)
    return {**result, "wall_s": round(time.perf_counter() - began)}


def summarise(setup: dict, out: Path) -> dict:
    runs = [json.loads(path.read_text()) for path in sorted(out.glob("seed*.json"))]
    # the warm start, then PG from the strongest KL penalty to the weakest: the line the trade-off traces
    policies = ["supervised", *(f"pg kl={kl_coef}" for kl_coef in sorted(setup["kl_coefs"], reverse=True))]
    metrics = list(runs[0]["supervised"]["test"]["greedy"])
    means = {
        policy: {
            split: {
                decoding: {
                    m: round(float(np.mean([run[policy][split][decoding][m] for run in runs])), 4) for m in metrics
                }
                for decoding in DECODINGS
            }
            for split in SPLITS
        }
        for policy in policies
    }
    first, second = setup["measures"]
    chosen = {}
    for decoding in DECODINGS:
        floor = setup["floor"] * means["supervised"]["validation"][decoding][second]
        allowed = [p for p in policies[1:] if means[p]["validation"][decoding][second] >= floor]
        best = max(allowed, key=lambda p: means[p]["validation"][decoding][first], default=None)
        chosen[decoding] = {"policy": best, "test": None if best is None else means[best]["test"][decoding]}
        chosen[decoding]["supervised test"] = means["supervised"]["test"][decoding]
    summary = {
        "task": setup["task"],
        "seeds": [run["seed"] for run in runs],
        "demonstrations (test)": demonstrations(setup["task"]),
        "chosen on validation": chosen,
        "means": means,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    plot(summary, policies, first, second, out / "tradeoff.png")
    return summary


def plot(summary: dict, policies: list[str], first: str, second: str, path: Path) -> None:
    """The first measure against the second, one line over the KL coefficients per split and decoding."""
    figure, axes = plt.subplots(figsize=(6, 4.5))
    for split, marker in (("validation", "o"), ("test", "s")):
        for decoding, style in (("greedy", "-"), ("sampled", "--")):
            points = [summary["means"][policy][split][decoding] for policy in policies]
            axes.plot(
                [p[second] for p in points],
                [p[first] for p in points],
                style,
                marker=marker,
                label=f"{split}, {decoding}",
            )
            if split == "test":
                for policy, point in zip(policies, points):
                    name = "sup." if policy == "supervised" else policy.removeprefix("pg ")
                    axes.annotate(name, (point[second], point[first]), fontsize=7)
    demonstrated = summary["demonstrations (test)"]
    axes.scatter([demonstrated[second]], [demonstrated[first]], marker="*", s=90, c="k", label="demonstrations")
    axes.set_xlabel(second)
    axes.set_ylabel(first)
    axes.set_title(
        f"{summary['task']}: warm start on weak demonstrations, then PG ({len(summary['seeds'])} seeds)", fontsize=9
    )
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    torch.set_num_threads(1)
    setup, out = TASKS[sys.argv[1]], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    for seed in [int(s) for s in sys.argv[3:]] or [0, 1, 2]:
        path = out / f"seed{seed}.json"
        if not path.exists():
            path.write_text(json.dumps(run_seed(setup, seed), indent=1) + "\n")
    print(json.dumps(summarise(setup, out)["chosen on validation"], indent=1))


if __name__ == "__main__":
    main()
