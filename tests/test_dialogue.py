"""The dialogue tasks: conversations in the environment, simulated users, scripted policies, demonstrations."""

import math
import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import textgym
from textgym import TextGenEnv, env_id
from textgym.conversation import Turn, split_turns
from textgym.examples import ExampleBatch
from textgym.splits import SPLITS, split_of
from textgym.task import Reply
from textgym.tasks import DIALOGUE_TASKS, make_task
from textgym.tasks.guess_number import GuessNumber
from textgym.tasks.twenty_questions import COLOURS, KINDS, PLACES, SIZES
from textgym.tasks.wordle import feedback_codes, load_words

DIALOGUE = [task.name for task in DIALOGUE_TASKS]
DIALOGUE_IDS = [env_id(name) for name in DIALOGUE]
EOS, EOT = 1, 2
NOT_UNDERSTOOD = "i do not understand"

# The sizes docs/envs.md states for the default options: (P, M, G, V) and the turn limit.
DEFAULT_SIZES = {
    "GuessNumber": ((6, 7, 130, 25), 10),
    "TwentyQuestions": ((3, 5, 110, 63), 10),
    "Wordle": ((3, 5, 72, 38), 6),
}

# Options other than the defaults; each must pass the checkers too.
VARIANTS = [
    ("GuessNumber", {"low": 0, "high": 999, "max_turns": 12}),
    ("GuessNumber", {"low": 5, "high": 37, "turn_cost": 0.05}),
    ("GuessNumber", {"train_sub_ranges": 0.5, "reward_mode": "dense"}),
    ("TwentyQuestions", {"objects_per_kind": 16, "world_seed": 3, "max_turns": 20}),
    ("Wordle", {"max_turns": 8, "turn_cost": 0.0}),
]


def say(env, text):
    """Type ``text`` word by word (no <eot>); return the last step's results."""
    for token in env.unwrapped.tokenizer.encode(text):
        result = env.step(token)
    return result


def conversation(env):
    """The conversation slots of the last observation, as text with specials by name."""
    unwrapped = env.unwrapped
    episodes = unwrapped._episodes
    slots = episodes.generated[0, : episodes.filled[0]]
    return unwrapped.tokenizer.decode(slots, skip_special=False)


def scripted_results(task):
    """``(success, turns)`` of the scripted policy's conversation for every secret of the task, all splits."""
    return [
        task.outcome(task.demonstration(example)[0], example) for split in SPLITS for example in task.examples(split)
    ]


def play_scripted(env, seed):
    """One episode of the task's scripted policy; returns the last info and the rewards."""
    env.reset(seed=seed)
    task, rewards, terminated = env.unwrapped.task, [], False
    while not terminated:
        action = task.scripted_action(env.unwrapped.example, env.unwrapped.generated)
        _, reward, terminated, _, info = env.step(action)
        rewards.append(reward)
    return info, rewards


@pytest.mark.parametrize("name", DIALOGUE)
def test_default_sizes_are_those_the_docs_state(name):
    task = make_task(name)
    (P, M, G, V), turns = DEFAULT_SIZES[name]
    assert (task.max_prompt_len, task.max_turn_len, task.max_gen_len, task.tokenizer.vocab_size) == (P, M, G, V)
    assert task.max_turns == turns and task.turn_cost == 0.01
    assert G == turns * (M + task.max_reply_len + 2)
    assert gym.spec(env_id(name)).reward_threshold == 0.9


@pytest.mark.parametrize("name, options", VARIANTS)
def test_variants_pass_both_checkers_without_warnings(name, options):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(gym.make(env_id(name), **options).unwrapped)
        sb3_check_env(gym.make(env_id(name), **options), warn=True)


def test_a_guess_the_number_conversation_slot_by_slot():
    env = gym.make("textgym/GuessNumber-v0", render_mode="ansi")
    obs, info = env.reset(seed=0)
    secret = int(info["references"][0].replace(" ", ""))
    P = env.unwrapped.prompt_len
    assert info["prompt"] == "from 1 to 1 0 0" and list(obs[:P]) == env.unwrapped.tokenizer.encode(info["prompt"])
    assert not obs[P:].any()  # the observation does not give the secret away

    say(env, "is it more than 5 0")  # shorter than a full turn (7 tokens): the user waits for <eot>
    assert conversation(env) == "is it more than 5 0"
    obs, reward, terminated, _, info = env.step(EOT)
    answer = "yes" if secret > 50 else "no"
    assert conversation(env) == f"is it more than 5 0 <eot> {answer} <eot>"
    assert list(obs[P : P + 9]) == env.unwrapped.tokenizer.encode("is it more than 5 0") + [EOT] + [
        env.unwrapped.tokenizer.token_id(answer),
        EOT,
    ]
    assert (reward, terminated) == (0.0, False) and not obs[P + 9 :].any()

    say(env, f"is it {' '.join(str(secret))}")
    assert conversation(env).endswith(f"<eot> is it {' '.join(str(secret))}")
    obs, reward, terminated, _, info = env.step(EOT)
    assert terminated and info["success"] and info["turns"] == 2
    assert reward == info["score"] == 1 - 0.01 * 2
    assert info["transcript"] == (
        ("agent", "is it more than 5 0"),
        ("user", answer),
        ("agent", f"is it {' '.join(str(secret))}"),
        ("user", "yes"),
    )
    assert info["generated"] == conversation(env) == " <eot> ".join(text for _, text in info["transcript"]) + " <eot>"
    assert env.render() == f"from 1 to 1 0 0 -> {info['generated']}"


def test_a_wordle_guess_ends_its_turn_after_five_letters_and_gets_one_colour_per_letter():
    env = gym.make("textgym/Wordle-v0")
    _, info = env.reset(seed=1)
    secret = info["references"][0].replace(" ", "")
    guess = "crane" if secret != "crane" else "slate"
    obs, _, terminated, _, info = say(env, " ".join(guess))
    colours = conversation(env).split("<eot>")[1].split()
    assert conversation(env).startswith(" ".join(guess) + " <eot> ") and len(colours) == 5 and not terminated
    for position, (letter, colour) in enumerate(zip(guess, colours)):
        if letter == secret[position]:
            assert colour == "green"
        elif letter not in secret:
            assert colour == "grey"
    obs, _, terminated, _, info = say(env, " ".join(secret))
    assert terminated and info["success"] and info["turns"] == 2
    assert info["transcript"][-1] == ("user", "green green green green green")


@pytest.mark.parametrize(
    "name, options, turns",
    [
        (
            "GuessNumber",
            {"max_turns": 20},
            ["", "is it", "yes no", "more than 5", "<pad> is it 5", "is it more than 0 5"],
        ),
        ("TwentyQuestions", {"max_turns": 20}, ["", "is it", "is it a red", "the cat is it", "is it in the yes"]),
        ("Wordle", {"max_turns": 10}, ["", "c a t", "z z z z z", "a b c d e", "y e s"]),
    ],
)
def test_malformed_turns_get_the_defined_reply_and_cost_a_turn(name, options, turns):
    env = TextGenEnv(name, **options)
    env.reset(seed=2)
    tokenizer, max_turn_len = env.tokenizer, env.task.max_turn_len
    for number, turn in enumerate(turns, start=1):
        typed = [tokenizer.pad_id if word == "<pad>" else tokenizer.token_id(word) for word in turn.split()]
        typed = typed[:max_turn_len]
        for token in typed + ([EOT] if len(typed) < max_turn_len else []):  # a full turn ends by itself
            _, reward, terminated, _, info = env.step(token)
            assert (reward, terminated) == (0.0, False)  # never an exception, never the end
        answered, pending = split_turns(env.generated, EOT)
        assert len(answered) == number and not pending
        assert answered[-1] == Turn(tuple(typed), tuple(tokenizer.encode(NOT_UNDERSTOOD)))
    terminated = False
    while not terminated:  # the scripted policy finishes the game; the malformed turns were counted
        _, reward, terminated, _, info = env.step(env.task.scripted_action(env.example, env.generated))
    assert info["success"] and info["turns"] > len(turns)
    assert reward == info["score"] == pytest.approx(1 - 0.01 * info["turns"])
    assert [text for _, text in info["transcript"][1 : 2 * len(turns) : 2]] == [NOT_UNDERSTOOD] * len(turns)


def test_an_over_long_turn_is_cut_at_the_turn_length():
    env = TextGenEnv("TwentyQuestions")
    env.reset(seed=0)
    red = env.tokenizer.token_id("red")
    for _ in range(env.task.max_turn_len):
        env.step(red)
    assert conversation(env) == f"red red red red red <eot> {NOT_UNDERSTOOD} <eot>"
    assert env.action_masks()[env.tokenizer.token_id("is")]  # the agent's next turn has begun


@pytest.mark.parametrize("name", DIALOGUE)
def test_the_turn_limit_and_eos_end_the_conversation(name):
    env = TextGenEnv(name)
    env.reset(seed=0)
    symbol = EOT + 1  # the first task word; repeated, never a question
    steps, terminated = 0, False
    while not terminated:
        _, _, terminated, _, info = env.step(symbol)
        steps += 1
    assert steps == env.task.max_turns * env.task.max_turn_len  # every turn cut at full length, then answered
    assert info["turns"] == env.task.max_turns and not info["success"] and info["score"] == 0.0
    assert [text for speaker, text in info["transcript"] if speaker == "user"] == [NOT_UNDERSTOOD] * info["turns"]
    env.reset(seed=0)
    say(env, "is it" if name != "Wordle" else "c r")
    _, reward, terminated, _, info = env.step(EOS)  # giving up in the middle of a turn
    assert terminated and (reward, info["turns"], info["success"]) == (0.0, 0, False)
    assert info["transcript"] == (("agent", "is it" if name != "Wordle" else "c r"),)
    assert conversation(env).endswith("<eos>")


def test_guess_the_number_scripted_policy_stays_within_the_binary_search_bound():
    for options in ({}, {"low": 0, "high": 999, "max_turns": 12}, {"low": 5, "high": 37}):
        task = GuessNumber(**options)
        bound = math.ceil(math.log2(task.high - task.low + 1)) + 1
        successes, turns = zip(*scripted_results(task))
        assert all(successes) and len(turns) == task.high - task.low + 1
        assert max(turns) <= bound, (options, max(turns), bound)
        assert np.mean(turns) >= math.log2(len(turns))  # it asks, it does not peek (a yes/no tree's mean depth)


@pytest.mark.parametrize("options", [{}, {"objects_per_kind": 16, "world_seed": 3}, {"objects_per_kind": 2}])
def test_twenty_questions_scripted_policy_solves_every_object(options):
    task = make_task("TwentyQuestions", **options)
    successes, turns = zip(*scripted_results(task))
    assert all(successes) and len(turns) == len(task.secrets) and max(turns) < task.max_turns
    assert np.mean(turns) >= math.log2(len(turns)) + 1  # yes/no questions to one object, then the guess


def test_twenty_questions_scripted_policy_solves_every_seeded_episode():
    env = gym.make("textgym/TwentyQuestions-v0", split="test")
    for seed in range(100):
        info, rewards = play_scripted(env, seed)
        assert info["success"] and rewards[-1] == info["score"] == pytest.approx(1 - 0.01 * info["turns"])


def test_wordle_scripted_solver_solves_at_least_95_percent_of_the_words_in_six_guesses():
    task = make_task("Wordle")
    results = scripted_results(task)
    solved = [turns for success, turns in results if success]
    assert len(results) == len(task.secrets) == 1073
    assert len(solved) / len(results) >= 0.95 and max(solved) <= 6 and 3 < np.mean(solved) < 4.5
    for example in task.examples("test"):  # a consistent-word solver: every guess could still be the secret
        turns, _ = split_turns(task.demonstration(example)[0], EOT)
        for k, turn in enumerate(turns):
            word = task.question_ids.index(turn.question)
            assert task.candidates(turns[:k])[word], (example.references, k)


@pytest.mark.parametrize("name", DIALOGUE)
def test_random_policy_almost_never_succeeds_even_with_masks(name):
    env = TextGenEnv(name)
    rng = np.random.default_rng(0)
    successes = []
    for seed in range(200):
        _, info = env.reset(seed=seed)
        terminated = False
        while not terminated:
            mask = info["action_mask"].copy()
            mask[EOS] = False  # never give up: ask random well-formed questions to the end
            _, _, terminated, _, info = env.step(rng.choice(np.flatnonzero(mask)))
        successes.append(info["success"])
    assert np.mean(successes) <= 0.05


def test_action_masks_follow_the_question_grammar():
    env = TextGenEnv("GuessNumber")
    _, info = env.reset(seed=0)
    tokenizer = env.tokenizer

    def allowed():
        return {tokenizer.tokens[i] for i in np.flatnonzero(env.action_masks())}

    assert allowed() == {"is", "<eos>"}
    say(env, "is it")
    assert allowed() == {"more", *"0123456789", "<eos>"}
    say(env, "4")
    assert allowed() == {*"0123456789", "<eot>", "<eos>"}
    say(env, "2 7")
    assert allowed() == {"<eot>", "<eos>"}  # no fourth digit below 1000
    env.reset(seed=0)
    say(env, "is it 0")
    assert allowed() == {"<eot>", "<eos>"}  # no leading zeros
    say(env, "0")
    assert allowed() == {"<eot>", "<eos>"}  # off the grammar: only ending the turn (or giving up) is advised
    env.step(EOT)
    assert allowed() == {"is", "<eos>"}


@pytest.mark.parametrize("name", DIALOGUE)
def test_the_scripted_policy_takes_only_masked_actions(name):
    env = TextGenEnv(name)
    for seed in range(10):
        _, info = env.reset(seed=seed)
        terminated = False
        while not terminated:
            action = env.task.scripted_action(env.example, env.generated)
            assert info["action_mask"][action]
            _, _, terminated, _, info = env.step(action)


@pytest.mark.parametrize("env_id", textgym.ENV_IDS)
def test_demonstrations_replay_in_the_environment(env_id):
    env = gym.make(env_id)
    task = env.unwrapped.task
    P, G = task.max_prompt_len, task.max_gen_len
    for seed in range(5):
        env.reset(seed=seed)
        example = env.unwrapped.example
        slots, own = task.demonstration(example)
        assert len(slots) == len(own) <= G and own[0]
        for token in (token for token, mine in zip(slots, own) if mine):
            obs, reward, terminated, _, info = env.step(token)
        assert terminated and info["success"] and reward == info["score"]
        assert list(obs[P : P + len(slots)]) == slots and not obs[P + len(slots) :].any()
        assert [token for token, mine in zip(slots, own) if mine] == task.oracle_actions(example)
        if task.max_turn_len is None:
            assert all(own) and info["score"] >= 0.9
        else:
            # the environment's slots: each reply with its <eot>, and the <eot> of a turn at full length
            turns, _ = split_turns(slots, EOT)
            written = sum(len(turn.reply) + 1 + (len(turn.question) == task.max_turn_len) for turn in turns)
            assert own.count(False) == written and info["score"] == pytest.approx(1 - task.turn_cost * len(turns))


def mixed_episode(env, seed):
    """The scripted policy with a random token instead 10% of the time; returns (reward, the user replied) per step
    and the last info."""
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    steps, terminated = [], False
    while not terminated:
        action = env.task.scripted_action(env.example, env.generated)
        action = action if rng.random() < 0.9 else int(rng.integers(env.action_space.n))
        filled = len(env.generated)
        _, reward, terminated, _, info = env.step(action)
        steps.append((reward, len(env.generated) > filled + 1))
    return steps, info


@pytest.mark.parametrize("name", DIALOGUE)
def test_dense_rewards_sum_to_the_score_and_measure_information(name):
    sparse, dense = TextGenEnv(name), TextGenEnv(name, reward_mode="dense")
    information = lambda turns: math.log(len(dense.task.secrets) / dense.task.candidates(turns).sum())  # noqa: E731
    saw_information = False
    for seed in range(30):
        (sparse_steps, sparse_info), (dense_steps, dense_info) = mixed_episode(sparse, seed), mixed_episode(dense, seed)
        assert sparse_info["generated"] == dense_info["generated"]
        assert all(reward == 0.0 for reward, _ in sparse_steps[:-1])
        assert sum(reward for reward, _ in dense_steps) == pytest.approx(sparse_steps[-1][0], abs=1e-12)
        assert all(reward == 0.0 for reward, replied in dense_steps[:-1] if not replied)  # only answers inform
        # each answered turn but the last brings the information its answer gave, as a share of log(secrets)
        turns, _ = split_turns(dense.generated, EOT)
        informed = [reward for reward, replied in dense_steps[:-1] if replied]
        gains = [information(turns[: k + 1]) - information(turns[:k]) for k in range(len(informed))]
        assert informed == pytest.approx([gain / math.log(len(dense.task.secrets)) for gain in gains], abs=1e-12)
        saw_information |= any(reward > 0 for reward in informed)
    assert saw_information


def test_guess_the_number_dense_rewards_by_hand():
    env = TextGenEnv("GuessNumber", reward_mode="dense")
    _, info = env.reset(seed=0)
    secret = info["references"][0]
    say(env, "is it more than 5 0")
    _, first, *_ = env.step(EOT)
    assert first == pytest.approx(math.log2(100 / 50) / math.log2(100))  # one bit of log2(100)
    say(env, f"is it {secret}")
    _, last, terminated, _, info = env.step(EOT)
    assert terminated and info["success"] and first + last == pytest.approx(info["score"]) == 0.98


@pytest.mark.parametrize("name", DIALOGUE)
def test_batched_methods_agree_with_the_single_ones_on_conversations(name):
    task = make_task(name)
    rng = np.random.default_rng(0)
    examples, conversations = [], []
    for i in range(40):
        example = task.sample(rng, SPLITS[i % 3])
        slots, _ = task.demonstration(example)
        cut = [len(slots), int(rng.integers(0, len(slots))), len(slots)][i % 3]
        junk = list(rng.integers(0, task.tokenizer.vocab_size, size=int(rng.integers(0, 4)))) if i % 4 == 0 else []
        examples.append(example)
        conversations.append([*slots[:cut], *junk][: task.max_gen_len])
    batch = ExampleBatch.from_examples(examples, task.max_prompt_len, task.max_gen_len)
    generated = np.zeros((len(examples), task.max_gen_len), dtype=np.int64)
    for row, ids in zip(generated, conversations):
        row[: len(ids)] = ids
    lengths = np.array([len(ids) for ids in conversations])
    pairs = list(zip(conversations, examples))
    assert task.score_batch(generated, lengths, batch).tolist() == [task.score(c, e) for c, e in pairs]
    successes = [task.is_success(c, e) for c, e in pairs]
    assert task.is_success_batch(generated, lengths, batch).tolist() == successes and True in successes
    assert task.progress_batch(generated, lengths, batch).tolist() == [task.progress(c, e) for c, e in pairs]
    masks = task.action_mask_batch(generated, lengths, batch)
    assert np.array_equal(masks, np.array([task.action_mask(e, c) for c, e in pairs]))


@pytest.mark.parametrize("name", DIALOGUE)
def test_splits_are_disjoint_by_the_secret(name):
    task = make_task(name)
    by_split = {split: {example.references[0] for example in task.examples(split)} for split in SPLITS}
    assert sorted(secret for secrets in by_split.values() for secret in secrets) == sorted(task.secrets)
    assert all(split_of(secret) == split for split, secrets in by_split.items() for secret in secrets)
    rng = np.random.default_rng(0)
    drawn = {task.sample(rng, "test").references[0] for _ in range(300)}
    assert drawn <= by_split["test"] and len(drawn) > len(by_split["test"]) // 2  # the split's secrets, spread


def test_training_games_on_sub_ranges():
    task, whole = GuessNumber(train_sub_ranges=0.75), GuessNumber()
    train = {example.references[0] for example in whole.examples("train")}
    rng, seen = np.random.default_rng(0), set()
    for _ in range(400):
        example = task.sample(rng, "train")
        assert example.references[0] in train  # never a held-out number
        if example.prompt == whole.prompt:
            continue
        low, high = (int(end.replace(" ", "")) for end in example.prompt.removeprefix("from ").split(" to "))
        assert 1 <= low and low + 7 <= high <= 100 and (low, high) != (1, 100)
        assert low <= int(example.references[0].replace(" ", "")) <= high
        assert len(example.prompt_ids) <= task.max_prompt_len
        # the binary search over the sub-range wins, and the dense rewards measure information from its width
        slots, _ = task.demonstration(example)
        success, turns = task.outcome(slots, example)
        assert success and turns <= math.ceil(math.log2(high - low + 1)) + 1
        turns_played, _ = split_turns(slots, EOT)
        assert task.progress(slots, example) == 1.0 and task.progress(slots[:0], example) == 0.0
        left = task.candidates(turns_played[:1], example.prompt).sum()
        assert task.progress(list(slots[: slots.index(EOT) + 3]), example) == pytest.approx(
            math.log((high - low + 1) / left) / math.log(high - low + 1)
        )
        seen.add((low, high))
    assert 250 < len(seen) < 300 + 1  # about three in four draws, nearly all of them different
    for split in ("validation", "test"):  # held-out episodes play the whole range, drawn as without the option
        a, b = np.random.default_rng(1), np.random.default_rng(1)
        assert [task.sample(a, split) for _ in range(20)] == [whole.sample(b, split) for _ in range(20)]
    a, b = np.random.default_rng(2), np.random.default_rng(2)  # the default draws exactly as before
    assert [GuessNumber(train_sub_ranges=0).sample(a, "train") for _ in range(20)] == [
        whole.sample(b, "train") for _ in range(20)
    ]


def test_an_empty_split_is_reported():
    task = GuessNumber(low=1, high=4)
    with pytest.raises(ValueError, match=r"no secret of GuessNumber\(.*\) lies in the '(validation|test)' split"):
        for split in SPLITS:
            task.sample(np.random.default_rng(0), split)


@pytest.mark.parametrize(
    "name, options, match",
    [
        ("GuessNumber", {"high": 1000}, r"high must be in \[2, 999\], got 1000"),
        ("GuessNumber", {"low": -1}, r"low must be in \[0, 998\], got -1"),
        ("GuessNumber", {"low": 50, "high": 50}, r"high must be in \[51, 999\], got 50"),
        ("GuessNumber", {"high": 10.0}, "high must be an integer, got 10.0"),
        ("GuessNumber", {"max_turns": 0}, "max_turns must be >= 1, got 0"),
        ("GuessNumber", {"turn_cost": 1.0}, r"turn_cost must be a number in \[0, 1\), got 1.0"),
        ("GuessNumber", {"train_sub_ranges": 1.5}, r"train_sub_ranges must be a number in \[0, 1\], got 1.5"),
        ("GuessNumber", {"train_sub_ranges": "all"}, r"train_sub_ranges must be a number in \[0, 1\], got 'all'"),
        ("GuessNumber", {"high": 8, "train_sub_ranges": 0.5}, "needs a range of more than 8 numbers, got 1 to 8"),
        ("TwentyQuestions", {"objects_per_kind": 17}, r"objects_per_kind must be in \[2, 16\], got 17"),
        ("TwentyQuestions", {"world_seed": -1}, "world_seed must be >= 0, got -1"),
        ("Wordle", {"max_turns": "6"}, "max_turns must be an integer, got '6'"),
        ("Wordle", {"turn_cost": -0.1}, "got -0.1"),
        ("Wordle", {"words": 100}, r"unknown option\(s\) \['words'\] for task 'Wordle'"),
    ],
)
def test_bad_options_raise_naming_the_value(name, options, match):
    with pytest.raises(ValueError, match=match):
        make_task(name, **options)


def test_option_sizes():
    assert (GuessNumber(high=999).max_turn_len, GuessNumber(high=9).max_turn_len) == (7, 5)
    assert make_task("Wordle", max_turns=8).max_gen_len == 8 * (5 + 5 + 2)
    assert make_task("TwentyQuestions", objects_per_kind=16).tokenizer.vocab_size == 63 + 32


def test_twenty_questions_answers_follow_the_world():
    task = make_task("TwentyQuestions", world_seed=5)
    looks = {(thing.colour, thing.size, thing.kind, thing.place) for thing in task.world}
    assert len(looks) == len(task.world) == 32
    assert task.world != make_task("TwentyQuestions", world_seed=6).world
    for example in task.examples("train")[:10]:
        thing = task.world[example.meta["secret"]]
        assert thing.name == example.references[0]
        asked = [(COLOURS, "is it {}"), (SIZES, "is it {}"), (KINDS, "is it a {}"), (PLACES, "is it in the {}")]
        for values, question in asked:
            for value in values:
                answer = task.answer(example, tuple(task.tokenizer.encode(question.format(value))))
                expected = "yes" if value in (thing.colour, thing.size, thing.kind, thing.place) else "no"
                assert task.tokenizer.decode(answer.ids) == expected and not answer.win and not answer.final
        wrong = next(other.name for other in task.world if other != thing)
        assert task.answer(example, tuple(task.tokenizer.encode(f"is it the {wrong}"))).final  # a wrong guess ends it
        assert task.answer(example, tuple(task.tokenizer.encode(f"is it the {thing.name}"))).win


def reference_feedback(guess, secret):
    """Wordle's colouring, written independently of the task: greens first, then yellows from the letters left."""
    colours = ["grey"] * 5
    left = [s for g, s in zip(guess, secret) if g != s]
    for i, (g, s) in enumerate(zip(guess, secret)):
        if g == s:
            colours[i] = "green"
        elif g in left:
            colours[i] = "yellow"
            left.remove(g)
    return colours


def test_wordle_feedback_matches_a_reference_implementation():
    words = load_words()
    task = make_task("Wordle")
    rng = np.random.default_rng(0)
    pairs = [("speed", "abide"), ("eerie", "there"), ("geese", "sheep"), ("lolly", "allow"), ("crane", "crane")]
    pairs += [tuple(rng.choice(words, size=2)) for _ in range(300)]
    letters = lambda word: np.array([[ord(c) - ord("a") for c in word]])  # noqa: E731
    for guess, secret in pairs:
        code = int(feedback_codes(letters(guess), letters(secret))[0, 0])
        assert task.replies[code].split() == reference_feedback(guess, secret), (guess, secret)
    assert reference_feedback("speed", "abide") == ["grey", "grey", "yellow", "grey", "yellow"]
    assert reference_feedback("geese", "sheep") == ["grey", "yellow", "green", "yellow", "grey"]


def test_a_reply_longer_than_the_room_left_is_the_tasks_error():
    class Chatty(GuessNumber):
        def reply(self, example, conversation):
            return Reply((self.tokenizer.token_id("no"),) * self.max_gen_len, False)

    env = TextGenEnv(Chatty())
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match=r"replied with 130 tokens where the conversation had room for \d+"):
        env.step(EOT)


@pytest.mark.parametrize("name", DIALOGUE)
def test_tasks_pickle_with_their_caches(name):
    task = make_task(name)
    example = task.examples("test")[0]
    slots, own = task.demonstration(example)  # fills the caches
    copy = pickle.loads(pickle.dumps(task))
    assert copy.demonstration(example) == (slots, own) and copy.tokenizer.tokens == task.tokenizer.tokens


def test_single_turn_tasks_have_no_turns():
    task = make_task("Copy")
    assert task.max_turn_len is None
    env = TextGenEnv(task)
    env.reset(seed=0)
    env.step(EOT)  # <eot> is an ordinary (wrong) symbol here
    assert env.generated == [EOT]
    with pytest.raises(NotImplementedError, match="'Copy' has no turns"):
        task.reply(env.example, [EOT])
