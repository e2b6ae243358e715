"""The text-level view: strings in and out, the same episodes and scores as the token-level environment."""

import re
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import textgym
from textgym import TextGenEnv, env_id
from textgym.conversation import split_turns
from textgym.tasks import DIALOGUE_TASKS
from textgym.text_view import TextView
from textgym.tokenizers import BPETokenizer, CharTokenizer, WordTokenizer

DIALOGUE = [env_id(task.name) for task in DIALOGUE_TASKS]
SINGLE_TURN = [i for i in textgym.ENV_IDS if i not in DIALOGUE]


def token_run(env: TextGenEnv, ids: list[int]) -> tuple[float, dict]:
    """Play ``ids`` until the episode ends; the return and the last info."""
    total = 0.0
    for token in ids:
        _, reward, terminated, _, info = env.step(token)
        total += reward
        if terminated:
            break
    return total, info


@pytest.mark.parametrize("reward_mode", ["sparse", "dense"])
@pytest.mark.parametrize("env_id", SINGLE_TURN)
def test_a_single_answer_scores_the_same_as_text_and_as_tokens(env_id, reward_mode):
    """For every single-turn ID, the reference and random texts (some longer than the answer slots, some with
    words or characters outside the vocabulary): same prompt, same return, same final info."""
    tokens = gym.make(env_id, reward_mode=reward_mode).unwrapped
    text = gym.make(env_id, reward_mode=reward_mode, interface="text")
    tokenizer = tokens.tokenizer
    rng = np.random.default_rng(0)
    scores = []
    for episode in range(6):
        _, info = tokens.reset(seed=episode)
        prompt, text_info = text.reset(seed=episode)
        assert prompt == info["prompt"] == text_info["prompt"]
        if episode == 0:
            answer = info["references"][0]
        else:
            length = int(rng.integers(0, tokens.gen_len + 4))
            ids = rng.integers(tokenizer.num_special, tokenizer.vocab_size, size=length)
            answer = tokenizer.decode(ids) + (" qqxz" if episode == 5 else "")
        ids = [*tokenizer.encode_any(answer.strip()), tokenizer.eos_id]  # the view strips surrounding whitespace
        expected_return, expected = token_run(tokens, ids)
        observation, reward, terminated, truncated, got = text.step(answer)
        assert (terminated, truncated, observation) == (True, False, prompt)
        assert reward == pytest.approx(expected_return, abs=1e-12)
        expected.pop("action_mask")
        assert got.pop("dropped") == max(0, len(ids) - 1 - tokens.gen_len)
        assert got == expected
        scores.append(got["score"])
    assert len(set(scores)) > 1  # the texts were scored, not all alike


def scripted_conversation(env: TextGenEnv, seed: int) -> tuple[list[str], float, dict]:
    """The scripted policy's episode on the token-level environment: its turns as text, its return, final info."""
    obs, _ = env.reset(seed=seed)
    total, terminated = 0.0, False
    while not terminated:
        action = env.task.scripted_action(env.example, env.generated)
        _, reward, terminated, _, info = env.step(action)
        total += reward
    turns, pending = split_turns(env.generated, env.tokenizer.eot_id)
    assert not pending
    return [env.tokenizer.decode(turn.question) for turn in turns], total, info


@pytest.mark.parametrize("reward_mode", ["sparse", "dense"])
@pytest.mark.parametrize("env_id", DIALOGUE)
def test_a_scripted_conversation_scores_the_same_as_text_and_as_tokens(env_id, reward_mode):
    """For every dialogue ID, the scripted policy's turns played as strings: same rewards turn by turn summed,
    same final info, and an observation that shows the conversation line by line."""
    tokens = gym.make(env_id, reward_mode=reward_mode).unwrapped
    text = gym.make(env_id, reward_mode=reward_mode, interface="text")
    for seed in range(4):
        questions, expected_return, expected = scripted_conversation(tokens, seed)
        observation, _ = text.reset(seed=seed)
        assert observation == tokens.example.prompt
        total = 0.0
        for k, question in enumerate(questions):
            observation, reward, terminated, truncated, info = text.step(question)
            total += reward
            assert terminated == (k == len(questions) - 1) and not truncated
            assert observation.split("\n")[-2:] == [f"agent: {question}", f"user: {info_reply(tokens, k)}"]
        assert total == pytest.approx(expected_return, abs=1e-12)
        expected.pop("action_mask")
        assert info.pop("dropped") == 0
        assert info == expected and info["success"]


def info_reply(env: TextGenEnv, k: int) -> str:
    """The user's reply to the token-level episode's turn ``k``."""
    turns, _ = split_turns(env.generated, env.tokenizer.eot_id)
    return env.tokenizer.decode(turns[k].reply)


def binary_search(observation: str) -> str:
    """A string-in, string-out guesser: reads the conversation so far and asks the binary search's next question."""
    lines = observation.split("\n")
    low, high = (int(part.replace(" ", "")) for part in lines[0].removeprefix("from ").split(" to "))
    for question, reply in zip(lines[1::2], lines[2::2]):
        threshold = int(question.removeprefix("agent: is it more than ").replace(" ", ""))
        if reply == "user: yes":
            low = threshold + 1
        else:
            high = threshold
    if low == high:
        return "is it " + " ".join(str(low))
    return "is it more than " + " ".join(str((low + high) // 2))


@pytest.mark.parametrize("split", ["train", "test"])
def test_a_text_agent_solves_guess_the_number_through_the_text_view(split):
    env = gym.make("textgym/GuessNumber-v0", split=split, interface="text")
    secrets = {}
    for seed in range(40):
        observation, info = env.reset(seed=seed)
        terminated = False
        while not terminated:
            observation, _, terminated, _, info = env.step(binary_search(observation))
        secrets[info["transcript"][-2][1]] = (info["success"], info["turns"])
    assert len(secrets) >= 10
    assert all(success and turns <= 8 for success, turns in secrets.values())


def test_text_the_vocabulary_cannot_say_is_played_as_pad_and_over_long_turns_are_cut():
    text = gym.make("textgym/GuessNumber-v0", interface="text")
    tokens = TextGenEnv("GuessNumber")
    text.reset(seed=0)
    tokens.reset(seed=0)
    # "maybe" is no word of the task and "<eot>" no text: each becomes one <pad>, a question the user does not get
    observation, reward, terminated, _, info = text.step("  is it maybe <eot> 5  ")
    token_run(tokens, [*tokens.tokenizer.encode("is it"), 0, 0, tokens.tokenizer.encode("5")[0], 2])
    assert observation.split("\n")[1:] == ["agent: is it <pad> <pad> 5", "user: i do not understand"]
    assert tokens.generated == text.unwrapped.generated
    assert (reward, terminated, info["dropped"]) == (0.0, False, 0)
    # a turn holds at most 7 tokens (``is it more than 1 0 0``); the rest of the text is dropped
    observation, _, _, _, info = text.step("is it more than 5 0 0 0 0")
    assert observation.split("\n")[-2:] == ["agent: is it more than 5 0 0", "user: no"]
    assert info["dropped"] == 2
    observation, _, _, _, info = text.step("")
    assert observation.split("\n")[-2:] == ["agent: ", "user: i do not understand"]


def test_an_over_long_answer_is_cut_at_the_answer_slots():
    env = gym.make("textgym/Copy-v0", interface="text")
    _, info = env.reset(seed=0)
    reference, slots = info["references"][0], env.unwrapped.gen_len
    _, reward, terminated, _, info = env.step(reference * slots)
    assert terminated and info["dropped"] == len(reference) * slots - slots
    assert info["generated"] == (reference * slots)[:slots] and not info["success"]


@pytest.mark.parametrize("action", [3, None, b"abc", ["a"]])
def test_an_action_that_is_not_a_string_raises_value_error_naming_it(action):
    env = gym.make("textgym/Copy-v0", interface="text")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=re.escape(f"action {action!r} is not a string")):
        env.step(action)


def test_an_unknown_interface_raises_value_error_naming_it():
    with pytest.raises(ValueError, match=r"unknown interface 'chat'; expected one of \('tokens', 'text'\)"):
        gym.make("textgym/Copy-v0", interface="chat")
    with pytest.raises(ValueError, match="interface 'text': the native vector environment is token-level"):
        gym.make_vec("textgym/Copy-v0", num_envs=2, interface="text")
    with pytest.raises(ValueError, match="TextView wraps a textgym TextGenEnv, got CartPoleEnv"):
        TextView(gym.make("CartPole-v1"))


@pytest.mark.parametrize("env_id", ["textgym/Copy-v0", "textgym/Wordle-v0", "textgym/SCAN-v0"])
def test_the_text_view_passes_gymnasiums_checker(env_id):
    """No warning but the one for checking a wrapper, which the view is: its observations are in its space."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(gym.make(env_id, interface="text").env.env, skip_render_check=True)
    assert [str(w.message) for w in caught if "different from the unwrapped version" not in str(w.message)] == []


def test_encode_any_maps_what_the_vocabulary_lacks_to_one_pad_per_symbol():
    words = WordTokenizer(["a", "b"])
    assert words.encode_any("a zz b <eos> <pad>") == [3, 0, 4, 0, 0]
    chars = CharTokenizer("ab")
    assert chars.encode_any("a b<") == [3, 0, 4, 0]
    bpe = BPETokenizer.train(["abab ba", "ab ab b"], vocab_size=12)
    assert bpe.encode_any("abab") == bpe.encode("abab")
    assert bpe.encode_any("ab xa <eos> ba") == [*bpe.encode("ab"), 0, 0, *bpe.encode("ba")]


def test_sync_vector_env_steps_text_views_side_by_side():
    envs = gym.make_vec("textgym/Copy-v0", num_envs=2, interface="text", vectorization_mode="sync")
    prompts, info = envs.reset(seed=0)
    _, rewards, terminated, _, _ = envs.step((prompts[0], "zz"))
    assert rewards.tolist() == [1.0, 0.0] and terminated.all()
