"""TextGenVectorEnv: registered as the vector entry point, and identical to SyncVectorEnv over TextGenEnv."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from helpers import assert_same
from hypothesis import given, settings
from hypothesis import strategies as st

import textgym
from textgym import TASKS, TextGenEnv, TextGenVectorEnv, env_id
from textgym.tasks import DIALOGUE_TASKS, LANGUAGE_TASKS
from textgym.tasks.algorithmic import AlgorithmicTask

IDS = textgym.ENV_IDS
ALGORITHMIC_IDS = [env_id(name) for name, task in TASKS.items() if issubclass(task, AlgorithmicTask)]
LANGUAGE_IDS = [env_id(task.name) for task in LANGUAGE_TASKS]
DIALOGUE_IDS = [env_id(task.name) for task in DIALOGUE_TASKS]
MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP]


def pair(env_id, num_envs, mode=AutoresetMode.NEXT_STEP, **kwargs):
    """The native vector env and SyncVectorEnv over TextGenEnv, made the same way."""
    native = gym.make_vec(env_id, num_envs=num_envs, autoreset_mode=mode, **kwargs)
    sync = gym.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}, **kwargs
    )
    return native, sync


def mixed_actions(sync, rng, oracle_share):
    """For each sub-environment, the next token of the reference (for a dialogue: of the task's scripted policy)
    with probability ``oracle_share``, else a uniform id from the whole action space (special tokens included).
    Read from the Sync sub-environments' state."""
    actions = rng.integers(0, sync.single_action_space.n, size=sync.num_envs)
    for i, env in enumerate(sync.envs):
        env = env.unwrapped
        if env.example is not None and rng.random() < oracle_share:
            if env.task.max_turn_len is not None:
                actions[i] = env.task.scripted_action(env.example, env.generated)
                continue
            reference = env.example.reference_ids[0]
            done = len(env.generated)
            actions[i] = reference[done] if done < len(reference) else env.tokenizer.eos_id
    return actions


@pytest.mark.parametrize("env_id", IDS)
def test_make_vec_gives_the_native_env_and_sync_on_request(env_id):
    native, sync = pair(env_id, 4)
    assert isinstance(native, TextGenVectorEnv) and isinstance(sync, SyncVectorEnv)
    assert isinstance(sync.envs[0].unwrapped, TextGenEnv)
    assert native.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert native.single_observation_space == sync.single_observation_space
    assert native.observation_space == sync.observation_space and native.action_space == sync.action_space
    assert native.spec.id == env_id


@pytest.mark.parametrize("env_id", ALGORITHMIC_IDS)
@settings(max_examples=40, deadline=None)
@given(
    num_envs=st.sampled_from([1, 3, 64]),
    mode=st.sampled_from(MODES),
    reward_mode=st.sampled_from(["sparse", "dense"]),
    seed=st.integers(0, 2**31),
    oracle_share=st.sampled_from([0.0, 0.6, 0.95]),
    steps=st.integers(1, 40),
)
def test_native_returns_exactly_what_sync_returns(env_id, num_envs, mode, reward_mode, seed, oracle_share, steps):
    native, sync = pair(env_id, num_envs, mode, reward_mode=reward_mode)
    assert_same(native.reset(seed=seed), sync.reset(seed=seed), "reset")
    rng = np.random.default_rng(seed)
    for step in range(steps):
        actions = mixed_actions(sync, rng, oracle_share)
        assert_same(native.step(actions), sync.step(actions), f"step {step}")


@pytest.mark.parametrize("env_id", ["textgym/Copy-v0", "textgym/Addition-v0", "textgym/DuplicatedInput-v0"])
def test_long_runs_match_sync_through_many_blocks_of_examples(env_id):
    """Hundreds of episodes per sub-environment: examples drawn in many blocks, and a partial reset without a seed
    in between (the queue goes on) and with one (it starts over)."""
    native, sync = pair(env_id, 3, AutoresetMode.SAME_STEP)
    assert_same(native.reset(seed=11), sync.reset(seed=11), "reset")
    rng = np.random.default_rng(11)
    episodes = 0
    for step in range(1500):
        actions = mixed_actions(sync, rng, 0.8)
        native_step = native.step(actions)
        assert_same(native_step, sync.step(actions), f"step {step}")
        episodes += int(native_step[2].sum())
        if step in (700, 1100):
            seed = None if step == 700 else [None, 5, None]
            options = {"reset_mask": np.array([True, True, False])}
            assert_same(native.reset(seed=seed, options=options), sync.reset(seed=seed, options=options), "reset")
    assert episodes >= 3 * 200


@pytest.mark.parametrize("env_id", LANGUAGE_IDS)
@pytest.mark.parametrize("mode", MODES)
def test_language_tasks_native_returns_exactly_what_sync_returns(env_id, mode):
    """Tasks that override scoring, masks or the final info go through the batched API's loops."""
    native, sync = pair(env_id, 3, mode)
    assert_same(native.reset(seed=7), sync.reset(seed=7), "reset")
    rng = np.random.default_rng(7)
    finals = 0
    for step in range(60):
        actions = mixed_actions(sync, rng, 0.9)
        native_step, sync_step = native.step(actions), sync.step(actions)
        assert_same(native_step, sync_step, f"step {step}")
        finals += int(native_step[2].sum())
    assert finals >= 3  # episodes really ended, so their final infos were compared


@pytest.mark.parametrize("env_id", DIALOGUE_IDS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("reward_mode", ["sparse", "dense"])
def test_dialogue_tasks_native_returns_exactly_what_sync_returns(env_id, mode, reward_mode):
    """Turns end and the user replies in some sub-environments while the others go on typing."""
    native, sync = pair(env_id, 4, mode, reward_mode=reward_mode)
    assert_same(native.reset(seed=3), sync.reset(seed=3), "reset")
    rng = np.random.default_rng(3)
    successes = failures = 0
    for step in range(150):
        actions = mixed_actions(sync, rng, 0.93)
        native_step, sync_step = native.step(actions), sync.step(actions)
        assert_same(native_step, sync_step, f"step {step}")
        final = native_step[4].get("final_info", native_step[4])
        if native_step[2].any():
            successes += int(final["success"][native_step[2]].sum())
            failures += int((~final["success"][native_step[2]]).sum())
    assert successes >= 3 and failures >= 1  # both kinds of final info were compared


@pytest.mark.parametrize("mode", [*MODES, AutoresetMode.DISABLED])
def test_partial_resets_with_a_mask_and_seed_lists_match_sync(mode):
    native, sync = pair("textgym/Addition-v0", 6, mode, reward_mode="dense")
    seeds = [5, 20, 7, 8, 3, 10]
    assert_same(native.reset(seed=seeds), sync.reset(seed=seeds))
    rng = np.random.default_rng(0)
    saw_partial_reset = False
    for step in range(40):
        actions = mixed_actions(sync, rng, 0.7)
        result = native.step(actions)
        assert_same(result, sync.step(actions), f"step {step}")
        terminated = result[2]
        if (mode == AutoresetMode.DISABLED and terminated.any()) or step % 9 == 8:
            mask = terminated.copy() if terminated.any() else np.arange(6) % 2 == 0
            seed = None if step % 2 else [100 + step, None, 7, None, 3, 1]  # None: the generator goes on
            options = {"reset_mask": mask}
            assert_same(native.reset(seed=seed, options=options), sync.reset(seed=seed, options=dict(options)))
            assert options == {"reset_mask": mask}  # the caller's options are left as they were
            saw_partial_reset |= not mask.all()
    assert saw_partial_reset


def test_reset_info_and_step_info_follow_the_vector_convention():
    env = gym.make_vec("textgym/Copy-v0", num_envs=3)
    obs, info = env.reset(seed=0)
    assert obs.shape == (3, 11) and obs.dtype == np.int64
    assert sorted(info) == ["_action_mask", "_prompt", "_references", "action_mask", "prompt", "references"]
    assert info["prompt"].dtype == object and isinstance(info["references"][0], tuple)
    assert info["action_mask"].shape == (3, 8) and info["_prompt"].all()
    for i in range(3):
        assert list(obs[i, : len(info["prompt"][i])]) == env.unwrapped.tokenizer.encode(info["prompt"][i])
    obs, rewards, terminated, truncated, info = env.step(np.array([1, 3, 3]))  # <eos> ends only the first
    assert terminated.tolist() == [True, False, False] and not truncated.any()
    assert info["_generated"].tolist() == [True, False, False] and info["generated"][0] == ""
    assert info["score"][0] == rewards[0] == 0.0 and info["success"].tolist() == [False] * 3
    assert np.array_equal(env.action_masks(), info["action_mask"])


def test_oracle_episodes_succeed_with_full_reward():
    env = TextGenVectorEnv("Reverse", num_envs=50, autoreset_mode="SameStep")
    obs, _ = env.reset(seed=1)
    references = env.examples.reference_ids[:, 0].copy()
    lengths = env.examples.reference_lengths[:, 0].copy()
    for position in range(env.gen_len):
        actions = np.where(position < lengths, references[:, position], env.tokenizer.eos_id)
        obs, rewards, terminated, _, info = env.step(actions)
        assert np.array_equal(terminated, position == lengths)
        assert np.array_equal(rewards, terminated.astype(float))
        if terminated.any():
            final = info["final_info"]
            assert final["success"][terminated].all() and (final["score"][terminated] == 1.0).all()
            lengths[terminated] = env.gen_len  # restarted episodes are not followed
        if (lengths == env.gen_len).all():
            break
    assert (lengths == env.gen_len).all()


def test_render_matches_sync():
    native, sync = pair("textgym/Copy-v0", 3, render_mode="ansi")
    assert native.render() == ("", "", "")
    native.reset(seed=4)
    sync.reset(seed=4)
    for actions in ([3, 4, 1], [5, 1, 3]):
        native.step(np.array(actions))
        sync.step(np.array(actions))
        assert native.render() == sync.render()
    assert gym.make_vec("textgym/Copy-v0", num_envs=2).render() is None


def test_shared_curriculum_grows_with_oracle_success():
    env = TextGenVectorEnv("Copy", num_envs=16, max_length=4, curriculum={"threshold": 0.9, "window": 20})
    obs, info = env.reset(seed=0)
    assert env.curriculum.level == 1 and {len(p) for p in info["prompt"]} == {1}
    P, eos = env.prompt_len, env.tokenizer.eos_id
    prompt_lengths = []
    for _ in range(200):
        position = (obs[:, P:] != 0).sum(axis=1)
        references = env.examples.reference_ids[:, 0]
        reference_lengths = env.examples.reference_lengths[:, 0]
        actions = np.where(position < reference_lengths, references[np.arange(16), position % env.gen_len], eos)
        obs, _, _, _, info = env.step(actions)
        if "prompt" in info:
            prompt_lengths += [len(p) for p in info["prompt"][info["_prompt"]]]
    assert env.curriculum.level == 4
    assert max(prompt_lengths[:16]) == 1 and max(prompt_lengths[-16:]) == 4


def test_dense_rewards_sum_to_the_final_score():
    env = TextGenVectorEnv("Sort", num_envs=64, reward_mode="dense", autoreset_mode="SameStep")
    env.reset(seed=3)
    returns, finals = np.zeros(64), []
    rng = np.random.default_rng(3)
    for _ in range(60):
        _, rewards, terminated, _, info = env.step(rng.integers(0, 8, size=64))
        returns += rewards
        if terminated.any():
            finals += list(zip(returns[terminated], info["final_info"]["score"][terminated]))
            returns[terminated] = 0.0
    assert len(finals) > 100 and any(score > 0 for _, score in finals)
    assert all(total == pytest.approx(score, abs=1e-12) for total, score in finals)


@pytest.mark.parametrize(
    "actions, match",
    [
        ([3, 4], r"actions \[3, 4\] are not one integer token id per sub-environment; .* shape \(3,\)"),
        (np.array([3.0, 4.0, 5.0]), r"got dtype float64"),
        (np.array([3, 8, 4]), r"action 8 of sub-environment 1 is outside the action space: .*\[0, 8\)"),
        (np.array([3, 4, -1]), r"action -1 of sub-environment 2"),
        (np.array([True, False, True]), "dtype bool"),
    ],
)
def test_bad_actions_raise_naming_the_value(actions, match):
    env = TextGenVectorEnv("Copy", num_envs=3)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(actions)


def test_step_before_reset_and_after_a_disabled_autoreset_raise():
    env = TextGenVectorEnv("Copy", num_envs=3, autoreset_mode=AutoresetMode.DISABLED)
    with pytest.raises(ResetNeeded, match=r"sub-environments \[0, 1, 2\] were never reset"):
        env.step(np.array([3, 3, 3]))
    with pytest.raises(ResetNeeded, match="never reset"):
        env.action_masks()
    env.reset(seed=0, options={"reset_mask": np.array([True, False, True])})
    with pytest.raises(ResetNeeded, match=r"sub-environments \[1\] were never reset"):
        env.step(np.array([3, 3, 3]))
    env.reset(seed=0)
    env.step(np.array([1, 3, 3]))
    with pytest.raises(ResetNeeded, match=r"sub-environments \[0\] terminated and autoreset is disabled"):
        env.step(np.array([3, 3, 3]))
    env.reset(options={"reset_mask": np.array([True, False, False])})
    env.step(np.array([3, 3, 3]))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_envs": 0}, "num_envs must be a positive integer, got 0"),
        ({"num_envs": 2.0}, "got 2.0"),
        ({"autoreset_mode": "later"}, r"unknown autoreset_mode 'later'; .*'NextStep'"),
        ({"reward_mode": "shaped"}, "'shaped'"),
        ({"lenght": 3}, "'lenght'"),
        ({"render_mode": "human"}, "'human'"),
    ],
)
def test_bad_options_raise_naming_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TextGenVectorEnv("Copy", **kwargs)


@pytest.mark.parametrize(
    "reset_kwargs, match",
    [
        ({"options": {"reset_mask": [True, False]}}, r"reset_mask \[True, False\] must be a numpy bool array"),
        ({"options": {"reset_mask": np.array([1, 0])}}, "must be a numpy bool array of shape"),
        ({"options": {"reset_mask": np.zeros(2, dtype=bool)}}, "marks no sub-environment"),
        ({"options": {"example": 1}}, r"unknown reset option\(s\) \['example'\]"),
        ({"seed": [1, 2, 3]}, r"seed \[1, 2, 3\] must be None, an int, or a list of 2"),
        ({"seed": "1"}, "seed '1'"),
    ],
)
def test_bad_reset_arguments_raise_naming_the_value(reset_kwargs, match):
    with pytest.raises(ValueError, match=match):
        TextGenVectorEnv("Copy", num_envs=2).reset(**reset_kwargs)


def test_seeded_vector_envs_repeat_and_different_seeds_differ():
    def prompts(seed):
        env = TextGenVectorEnv("Copy", num_envs=8)
        _, info = env.reset(seed=seed)
        return list(info["prompt"])

    assert prompts(0) == prompts(0) and prompts(0) != prompts(1)
