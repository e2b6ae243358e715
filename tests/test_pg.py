"""The policy-gradient agent: rollouts, baselines, losses, schedules, logs, determinism, and that it learns."""

import csv

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from textgym.agents import make_agent
from textgym.agents.envs import env_spec
from textgym.agents.evaluation import evaluate
from textgym.agents.pg import PolicyGradientAgent, Rollout, discounted_returns
from textgym.agents.torch_agent import adamw, lr_factor, task_of

TINY = {"model": {"d_model": 32, "n_heads": 2, "n_layers": 1, "d_ff": 64}}
SMALL_COPY = {"max_length": 3, "num_symbols": 3}


def copy_env(num_envs, reward_mode="dense", **options):
    return gym.make_vec("textgym/Copy-v0", num_envs=num_envs, reward_mode=reward_mode, **{**SMALL_COPY, **options})


def built_agent(num_envs=16, **options):
    agent = make_agent("pg", seed=0, num_envs=num_envs, **{**TINY, **options})
    env = copy_env(num_envs)
    agent.build_model(task_of(env))
    return agent, env


def test_rollout_holds_complete_episodes_and_the_sampling_log_probabilities():
    agent, env = built_agent(num_envs=32, samples_per_prompt=4, baseline="loo")
    rollout = agent._collect(env)
    lengths = rollout.own.sum(1)
    assert (lengths >= 1).all() and rollout.env_steps == int(lengths.sum())
    # every row ends with <eos> or fills all G slots, and nothing is recorded after its end
    last = rollout.slots[torch.arange(32), lengths - 1]
    assert ((last == 1) | (lengths == env.single_observation_space.shape[0] - 3)).all()
    assert (rollout.slots[~rollout.own] == 0).all() and (rollout.rewards[~rollout.own] == 0).all()
    # rows of one group share the prompt
    assert (rollout.prompts.view(8, 4, -1) == rollout.prompts.view(8, 4, -1)[:, :1]).all()
    # the log-probabilities taken with the KV cache are those of a full forward pass
    logits, _ = agent.model.teacher_forced(rollout.prompts, rollout.slots)
    recomputed = F.log_softmax(logits, -1).gather(2, rollout.slots[..., None]).squeeze(-1)
    torch.testing.assert_close(recomputed[rollout.own], rollout.logprobs[rollout.own], atol=1e-5, rtol=0)
    # dense rewards sum to the episode's score
    np.testing.assert_allclose(rollout.rewards.sum(1).numpy(), rollout.scores, atol=1e-6)


@pytest.mark.parametrize("env_id", ["textgym/SCAN-v0", "textgym/GuessNumber-v0"])
def test_mask_actions_keeps_rollouts_and_predictions_to_the_tasks_answer_tokens(env_id):
    agent = make_agent("pg", seed=0, num_envs=16, mask_actions=True, **TINY)
    env = gym.make_vec(env_id, num_envs=16)
    task = task_of(env)
    agent.build_model(task)
    allowed = task.answer_mask()
    assert agent.model.config.actions == tuple(np.flatnonzero(allowed))
    if task.max_turn_len is not None:  # a dialogue's agent ends its turns with <eot>
        assert allowed[task.tokenizer.eot_id]
    rollout = agent._collect(env)
    typed = rollout.slots[rollout.own].numpy()
    assert allowed[typed].all() and len(set(typed)) > 2
    obs, _ = env.reset(seed=0)
    assert allowed[agent.predict(obs, deterministic=False)].all()
    unmasked = make_agent("pg", seed=0, num_envs=16, **TINY)
    unmasked.build_model(task)
    free = unmasked._collect(env)
    assert not allowed[free.slots[free.own].numpy()].all()


def test_discounted_returns_by_hand():
    rewards = torch.tensor([[1.0, 0.0, 2.0, 0.0], [0.5, 0.5, 0.0, 0.0]])
    valid = torch.tensor([[True, True, True, False], [True, True, False, False]])
    returns = discounted_returns(rewards, valid, gamma=0.5)
    torch.testing.assert_close(returns, torch.tensor([[1.5, 1.0, 2.0, 0.0], [0.75, 0.5, 0.0, 0.0]]))


def fake_rollout(episode_returns, group_size):
    """Sparse-reward rollout of one-step episodes with the given returns."""
    n = len(episode_returns)
    rewards = torch.tensor(episode_returns, dtype=torch.float32)[:, None]
    ones = torch.ones(n, 1, dtype=torch.bool)
    zeros = torch.zeros(n, 1)
    return Rollout(
        prompts=torch.zeros(n, 2, dtype=torch.long),
        slots=torch.ones(n, 1, dtype=torch.long),
        own=ones,
        logprobs=zeros,
        values=torch.full((n, 1), 0.25),
        rewards=rewards,
        learn=torch.ones(n, dtype=torch.bool),
        scores=np.array(episode_returns),
        successes=np.zeros(n, dtype=bool),
    )


@pytest.mark.parametrize(
    "baseline, samples, expected",
    [
        ("none", 1, [1.0, 0.0, 0.5, 0.5]),
        ("loo", 2, [1.0, -1.0, 0.0, 0.0]),  # each minus the other sample of its prompt
        ("greedy", 1, [1.0, 0.0, 0.0, 0.0]),  # rows 1 and 3 are the greedy rows: 1 - 0, 0.5 - 0.5
        ("value", 1, [0.75, -0.25, 0.25, 0.25]),  # return minus the critic's 0.25
        ("mean", 1, [1.0, 0.0, 0.5, 0.5]),  # the running mean starts at 0
        ("batch", 1, [2**0.5, -(2**0.5), 0.0, 0.0]),  # minus the mean 0.5, over the standard deviation 0.5 / 2**0.5
    ],
)
def test_baselines_by_hand(baseline, samples, expected):
    agent = PolicyGradientAgent(
        num_envs=4, baseline=baseline, samples_per_prompt=samples, normalize_advantages=False, **TINY
    )
    advantages, targets = agent._advantages(fake_rollout([1.0, 0.0, 0.5, 0.5], agent.config.group_size))
    torch.testing.assert_close(advantages[:, 0], torch.tensor(expected))
    if baseline == "value":
        torch.testing.assert_close(targets[:, 0], torch.tensor([1.0, 0.0, 0.5, 0.5]))
    if baseline == "mean":  # the running mean moved 10% of the way to the mean return
        torch.testing.assert_close(agent.mean_baseline, torch.tensor([0.05]))


def test_one_epoch_is_reinforce_and_clipping_bounds_later_epochs():
    agent, env = built_agent(num_envs=16, baseline="none", samples_per_prompt=1, normalize_advantages=False)
    rollout = agent._collect(env)
    advantages, _ = agent._advantages(rollout)
    rows = torch.arange(16)
    parameters = list(agent.model.parameters())
    surrogate = agent._losses(rollout, rows, advantages, None, None)["policy_loss"]
    surrogate_grads = torch.autograd.grad(surrogate, parameters, allow_unused=True)
    logits, _ = agent.model.teacher_forced(rollout.prompts, rollout.slots)
    logprobs = F.log_softmax(logits, -1).gather(2, rollout.slots[..., None]).squeeze(-1)
    reinforce = -(logprobs * advantages * rollout.own).sum() / 16
    reinforce_grads = torch.autograd.grad(reinforce, parameters, allow_unused=True)
    for a, b in zip(surrogate_grads, reinforce_grads):  # ratio 1: the REINFORCE gradient itself
        if a is not None or b is not None:
            torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)
    rollout.logprobs = rollout.logprobs - 1.0  # as if the policy had moved far: ratios e >> 1 + clip
    clipped = agent._losses(rollout, rows, advantages, None, None)["policy_loss"]
    positive = (advantages > 0) & rollout.own
    expected = -((1.2 * advantages * positive) + (np.e * advantages * (rollout.own & ~positive))).sum() / 16
    torch.testing.assert_close(clipped, expected)


@pytest.mark.parametrize("schedule", ["constant", "linear", "cosine"])
def test_learning_rate_schedules_with_warmup(schedule):
    agent = make_agent(
        "pg", seed=0, num_envs=16, lr_schedule=schedule, warmup_fraction=0.25, learning_rate=1e-3, **TINY
    )
    agent.learn(copy_env(16), 4000)
    fractions = np.array([row["env_steps"] for row in agent.log_rows]) / 4000
    rates = np.array([row["learning_rate"] for row in agent.log_rows])
    # each update's rate is the schedule's value at the fraction of the budget spent before it
    before = np.concatenate([[0.0], fractions[:-1]])
    expected = np.array([lr_factor(schedule, 0.25, f) for f in before]) * 1e-3
    np.testing.assert_allclose(rates, expected, rtol=1e-6)
    warm = before < 0.25
    assert np.all(np.diff(rates[warm]) > 0) and rates[0] == 0.0
    if schedule == "constant":
        assert np.allclose(rates[~warm], 1e-3)
    else:
        assert np.all(np.diff(rates[~warm]) < 0) and rates[-1] < 0.1e-3


def test_weight_decay_shrinks_the_matrices_and_spares_biases_and_layer_norm_gains():
    agent, _ = built_agent()
    model = agent.model
    optimizer = adamw(model, learning_rate=0.1, weight_decay=0.5)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)  # Adam's step is then 0: only the decay moves a parameter
    optimizer.step()
    for name, p in model.named_parameters():
        expected = before[name] * (1 - 0.1 * 0.5) if p.dim() >= 2 else before[name]
        torch.testing.assert_close(p.detach(), expected, msg=name)
    assert {p.dim() for p in optimizer.param_groups[1]["params"]} == {1}  # the biases and gains
    assert optimizer.param_groups[1]["weight_decay"] == 0.0 and optimizer.param_groups[0]["weight_decay"] == 0.5


@pytest.mark.learning
def test_kl_penalty_keeps_the_policy_near_the_reference():
    results = {}
    for kl_coef in (0.0, 5.0):
        agent = make_agent("pg", seed=0, num_envs=32, kl_coef=kl_coef, learning_rate=3e-3, **TINY)
        if kl_coef == 0.0:  # measure the drift from the initial policy without a penalty
            agent.config.kl_target = None
        env = copy_env(32)
        agent.build_model(task_of(env))
        initial = {k: v.clone() for k, v in agent.model.state_dict().items()}
        agent.learn(env, 6000)
        reference = make_agent("pg", seed=0, num_envs=32, **TINY)
        reference.build_model(task_of(env))
        reference.model.load_state_dict(initial)
        rollout = agent._collect(env)
        with torch.no_grad():
            new, _ = agent.model.teacher_forced(rollout.prompts, rollout.slots)
            old, _ = reference.model.teacher_forced(rollout.prompts, rollout.slots)
        p = F.log_softmax(new, -1)
        kl = (p.exp() * (p - F.log_softmax(old, -1))).sum(-1)[rollout.own].mean().item()
        results[kl_coef] = kl
        if kl_coef > 0:
            assert all(row["kl"] >= -1e-6 for row in agent.log_rows) and agent.log_rows[-1]["kl"] > 0
    assert results[5.0] < 0.5 * results[0.0]


def test_reference_log_probabilities_are_computed_once_per_rollout_as_each_minibatch_would():
    agent, env = built_agent(num_envs=32, kl_coef=0.1, baseline="greedy")
    agent.learn(env, 2000)  # builds the reference, then moves the policy away from it
    rollout = agent._collect(env)
    rows = torch.nonzero(rollout.learn).squeeze(1)
    once = agent._reference_log_policy(rollout, rows)
    assert torch.all(once[~rollout.learn] == 0)  # greedy rows provide baselines only: nothing computed for them
    for minibatch in rows.tensor_split(4):  # what the minibatches used to compute, each on its own rows
        with torch.no_grad():
            logits, _ = agent.reference.teacher_forced(rollout.prompts[minibatch], rollout.slots[minibatch])
        expected = F.log_softmax(logits, dim=-1)[:, : once.shape[1]]
        own = rollout.own[minibatch, : once.shape[1]]
        torch.testing.assert_close(once[minibatch][own], expected[own], rtol=1e-5, atol=1e-5)
    assert make_agent("pg", seed=0)._reference_log_policy(rollout, rows) is None  # no KL penalty, no reference


@pytest.mark.parametrize("bucket", [True, False])
def test_each_epoch_uses_every_learning_row_once_and_buckets_minibatches_by_length(bucket):
    """With ``bucket_by_length`` the minibatches of an epoch hold episodes of like lengths (their length ranges do
    not overlap), so they pad less than random ones; either way an epoch visits every learning row once."""
    agent = make_agent("pg", seed=0, num_envs=64, update_epochs=2, bucket_by_length=bucket, **TINY)
    env = copy_env(64, max_length=8)
    agent.build_model(task_of(env))
    agent.optimizer = adamw(agent.model, 1e-3, 0.0)
    rollout = agent._collect(env)
    lengths = rollout.own.sum(1)
    seen, losses = [], agent._losses

    def recording(rollout, rows, *args):
        seen.append(rows.clone())
        return losses(rollout, rows, *args)

    agent._losses = recording
    agent._update(rollout)
    assert len(seen) == 8
    for epoch in (seen[:4], seen[4:]):
        assert sorted(torch.cat(epoch).tolist()) == list(range(64))
        ranges = sorted((int(lengths[rows].min()), int(lengths[rows].max())) for rows in epoch)
        overlapping = any(high > low for (_, high), (low, _) in zip(ranges, ranges[1:]))
        assert overlapping != bucket, ranges
    padded = sum(len(rows) * int(lengths[rows].max()) - int(lengths[rows].sum()) for rows in seen)
    assert (padded < 0.5 * sum(len(rows) * int(lengths.max()) - int(lengths[rows].sum()) for rows in seen)) == bucket


def test_adaptive_kl_coefficient_moves_toward_the_target():
    agent = make_agent(
        "pg",
        seed=0,
        num_envs=32,
        kl_coef=0.1,
        kl_target=1e-6,
        kl_horizon=1000,
        warmup_fraction=0.0,
        update_epochs=1,  # one gradient step per update: the first one starts exactly at the reference
        num_minibatches=1,
        **TINY,
    )
    agent.learn(copy_env(32), 3000)
    coefs = [row["kl_coef"] for row in agent.log_rows]  # the coefficient each update used
    kls = [row["kl"] for row in agent.log_rows]
    assert kls[0] == 0.0 and coefs[1] < coefs[0]  # the first update starts at the reference: KL 0, below target
    assert all(kl > 1e-6 for kl in kls[1:]) and all(b > a for a, b in zip(coefs[1:], coefs[2:]))  # then above it
    assert coefs[-1] > 0.1


@pytest.mark.learning
def test_same_seed_same_training_and_logs_to_csv(tmp_path):
    runs = []
    for run in range(2):
        agent = make_agent("pg", seed=3, num_envs=16, log_dir=str(tmp_path / f"run{run}"), **TINY)
        agent.learn(copy_env(16), 3000)
        runs.append(agent)
    a, b = runs
    assert [row["loss"] for row in a.log_rows] == [row["loss"] for row in b.log_rows]
    for (name, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert torch.equal(x, y), name
    with open(tmp_path / "run0" / "pg.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(a.log_rows)
    for column in (
        "return",
        "score",
        "success",
        "entropy",
        "kl",
        "policy_loss",
        "grad_norm",
        "learning_rate",
        "steps_per_s",
        "env_steps",
    ):
        assert column in rows[0], column
    assert float(rows[-1]["env_steps"]) == a.num_env_steps >= 3000


def test_callback_stops_learning_and_learn_continues(tmp_path):
    agent = make_agent("pg", seed=0, num_envs=16, **TINY)
    seen = []
    agent.learn(copy_env(16), 100_000, callback=lambda m: seen.append(m["env_steps"]) or len(seen) < 3)
    assert len(seen) == 3 and agent.num_env_steps == seen[-1]
    agent.learn(copy_env(16), 500)
    assert agent.num_env_steps >= seen[-1] + 500


def test_save_load_round_trip_gives_identical_greedy_actions(tmp_path):
    agent = make_agent("pg", seed=0, num_envs=16, **TINY).learn(copy_env(16), 3000)
    agent.save(tmp_path / "pg.pt")
    restored = PolicyGradientAgent.load(tmp_path / "pg.pt")
    assert isinstance(restored, PolicyGradientAgent) and restored is not agent and restored.seed == agent.seed
    assert restored.num_env_steps == agent.num_env_steps and restored.config == agent.config
    assert restored.config.model == agent.config.model and restored.config.model.d_model == 32
    obs, _ = copy_env(64).reset(seed=5)
    for _ in range(3):
        actions = agent.predict(obs)
        assert np.array_equal(actions, restored.predict(obs))
        obs[:, 3 + _] = actions  # walk on through the answer slots
    assert evaluate(agent, "textgym/Copy-v0", 100, **SMALL_COPY) == evaluate(
        restored, "textgym/Copy-v0", 100, **SMALL_COPY
    )


@pytest.mark.parametrize(
    "options, match",
    [
        ({"baseline": "median"}, "unknown baseline 'median'"),
        ({"baseline": "loo", "samples_per_prompt": 1}, "samples_per_prompt >= 2, got 1"),
        ({"num_envs": 10, "samples_per_prompt": 4}, "multiple of the rows per prompt"),
        ({"lr_schedule": "step"}, "unknown lr_schedule 'step'"),
        ({"gamma": 1.5}, "gamma must be in"),
        ({"learning_rate": 0}, "learning_rate must be > 0"),
        ({"temprature": 0.5}, r"unknown option\(s\) \['temprature'\] for PGConfig"),
        ({"n_layers": 3}, r"\['n_layers'\] are options of ModelConfig: give them as model=\{...\}"),
        ({"model": {"n_layer": 3}}, r"unknown option\(s\) \['n_layer'\] for ModelConfig"),
        ({"model": {"d_model": 30}}, r"d_model \(30\) must be divisible by n_heads \(4\)"),
        ({"model": {"positions": "learned"}}, "unknown positions 'learned'"),
        ({"device": "tpu"}, "unknown device 'tpu'"),
    ],
)
def test_bad_options_raise_naming_the_value(options, match):
    with pytest.raises(ValueError, match=match):
        make_agent("pg", **options)


def test_predict_before_learning_and_wrong_shapes_raise():
    agent = make_agent("pg", num_envs=16, **TINY)
    with pytest.raises(RuntimeError, match="call learn"):
        agent.predict(np.zeros((2, 7), dtype=np.int64))
    agent.learn(copy_env(16), 100)
    with pytest.raises(ValueError, match="observations have 9 slots"):
        agent.predict(np.zeros((2, 9), dtype=np.int64))


@pytest.mark.learning
@pytest.mark.parametrize("baseline", ["none", "mean", "value", "loo", "greedy", "batch"])
def test_every_baseline_learns_small_copy_above_random(baseline):
    samples = {"loo": 4, "greedy": 3}.get(baseline, 1)
    agent = make_agent(
        "pg",
        seed=0,
        num_envs=64,
        baseline=baseline,
        samples_per_prompt=samples,
        learning_rate=1e-3,
        update_epochs=1,
        num_minibatches=1,
        lr_schedule="constant",
        warmup_fraction=0.0,
        **TINY,
    )
    agent.learn(copy_env(64), 100_000)
    # small Copy has only 39 prompts, so its test split holds a handful: judge on the train split's distribution
    random_agent = make_agent("random").learn(env_spec("textgym/Copy-v0", **SMALL_COPY), 0)
    random_score = evaluate(random_agent, "textgym/Copy-v0", 200, split="train", **SMALL_COPY)
    learned = evaluate(agent, "textgym/Copy-v0", 200, split="train", **SMALL_COPY)
    assert random_score["score"] < 0.15 and learned["score"] > random_score["score"] + 0.35, (learned, random_score)


@pytest.mark.parametrize("env_id", ["textgym/GuessNumber-v0", "textgym/Wordle-v0"])
def test_dialogue_rollouts_hold_the_conversation_and_the_cache_sees_the_replies(env_id):
    """The user's replies land in the slots (not as the agent's steps), and the log-probabilities taken with the
    ragged KV cache are those of a full forward pass over the whole conversation."""
    env = gym.make_vec(env_id, num_envs=8)
    agent = make_agent("pg", seed=1, num_envs=8, samples_per_prompt=1, baseline="mean", **TINY)
    agent.build_model(task_of(env))
    rollout = agent._collect(env)
    single = gym.make(env_id)
    replies = 0
    # replay each row's own actions in a single env with the row's seed: the conversation must come out the same
    seeds = np.random.default_rng(1).integers(0, 2**31 - 1, size=8)  # the agent's prompt seeds (seed 1, k = 1)
    for row in range(8):
        obs, _ = single.reset(seed=int(seeds[row]))
        for slot in torch.nonzero(rollout.own[row]).squeeze(1).tolist():
            obs, reward, terminated, _, info = single.step(int(rollout.slots[row, slot]))
        assert terminated and info["score"] == pytest.approx(rollout.scores[row])
        P = single.unwrapped.prompt_len
        filled = int(rollout.own[row].nonzero().max()) + 1
        assert obs[P : P + filled].tolist() == rollout.slots[row, :filled].tolist()
        replies += int((~rollout.own[row, :filled]).sum())
    assert replies > 0 and rollout.env_steps == int(rollout.own.sum())
    logits, _ = agent.model.teacher_forced(rollout.prompts, rollout.slots)
    recomputed = F.log_softmax(logits, -1).gather(2, rollout.slots[..., None]).squeeze(-1)
    torch.testing.assert_close(recomputed[rollout.own], rollout.logprobs[rollout.own], atol=1e-4, rtol=0)


def test_a_rollout_finishes_one_episode_per_row_so_a_curriculum_counts_only_the_agents_episodes():
    """Rows whose episode ends early idle on <pad> until the batch ends: no second episode of theirs finishes, so the
    curriculum's window (which counts every finished episode) holds exactly one record per row and rollout."""
    env = copy_env(32, max_length=6, curriculum={"window": 10_000, "threshold": 1.0})
    agent = make_agent("pg", seed=0, num_envs=32, **TINY)
    agent.build_model(task_of(env))
    for rollouts in (1, 2, 3):
        rollout = agent._collect(env)
        assert len(env.curriculum.recent) == 32 * rollouts
    lengths = rollout.own.sum(1)
    assert lengths.min() < lengths.max()  # rows did end at different steps, and idled
