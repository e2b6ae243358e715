"""SCAN (Lake & Baroni, ICML 2018): translate a navigation command into the sequence of actions it means."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence

import numpy as np

from textgym.examples import Example
from textgym.splits import check_split
from textgym.tasks.grammar import Cost
from textgym.tasks.language import LanguageTask, check_choice, check_no_length_knob

ACTION_OF = {"walk": "I_WALK", "look": "I_LOOK", "run": "I_RUN", "jump": "I_JUMP"}
TURN_OF = {"left": "I_TURN_LEFT", "right": "I_TURN_RIGHT"}
REPEATS = {"twice": 2, "thrice": 3}
CONJUNCTIONS = ("and", "after")
COMMAND_WORDS = (*ACTION_OF, "turn", *TURN_OF, "opposite", "around", *REPEATS, *CONJUNCTIONS)
ACTIONS = (*ACTION_OF.values(), *TURN_OF.values())
SCAN_SPLITS = ("simple", "length", "addprim_jump", "addprim_turn_left")
SEED = 2018  # fixes the random 80/20 `simple` split and the validation split carved from every paper train split
SIMPLE_TRAIN = 16_728  # commands in the paper's `simple` train file (80% of 20,910)
LENGTH_TRAIN_MAX = 22  # the `length` split trains on outputs of at most 22 actions (the longest test ones: 24-48)
VALIDATION_SHARE = 0.1


@functools.cache
def interpret(command: str) -> str:
    """The action sequence of a SCAN command, e.g. ``"jump twice"`` -> ``"I_JUMP I_JUMP"``.

    Raises ``ValueError`` naming the command when it is not in the SCAN grammar.
    """
    words = command.split()
    for conjunction in CONJUNCTIONS:
        if conjunction in words:
            i = words.index(conjunction)
            first, second = _phrase(words[:i], command), _phrase(words[i + 1 :], command)
            return " ".join(first + second if conjunction == "and" else second + first)
    return " ".join(_phrase(words, command))


def _phrase(words: list[str], command: str) -> list[str]:
    """Actions of ``S -> V | V twice | V thrice``."""
    times = REPEATS.get(words[-1], 1) if words else 1
    verb_phrase = words[:-1] if times > 1 else words
    return _verb_phrase(verb_phrase, command) * times


def _verb_phrase(words: list[str], command: str) -> list[str]:
    """Actions of ``V -> U | x dir | x opposite dir | x around dir`` with ``x`` a primitive or ``turn``."""
    if len(words) == 1 and words[0] in ACTION_OF:
        return [ACTION_OF[words[0]]]
    if 2 <= len(words) <= 3 and words[0] in (*ACTION_OF, "turn") and words[-1] in TURN_OF:
        act = [ACTION_OF[words[0]]] if words[0] in ACTION_OF else []
        turn = TURN_OF[words[-1]]
        if len(words) == 2:
            return [turn, *act]
        if words[1] == "opposite":
            return [turn, turn, *act]
        if words[1] == "around":
            return [turn, *act] * 4
    raise ValueError(f"{command!r} is not a SCAN command")


@functools.cache
def commands() -> tuple[str, ...]:
    """Every command of the SCAN grammar, once each (20,910), in grammar order."""
    verb_phrases = [*ACTION_OF]
    for x in (*ACTION_OF, "turn"):
        for direction in TURN_OF:
            verb_phrases += [f"{x} {direction}", f"{x} opposite {direction}", f"{x} around {direction}"]
    phrases = [f"{v}{suffix}" for v in verb_phrases for suffix in ("", " twice", " thrice")]
    joined = [f"{a} {conjunction} {b}" for conjunction in CONJUNCTIONS for a in phrases for b in phrases]
    return tuple(phrases + joined)


@functools.cache
def paper_split(scan_split: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The commands of a split of the paper, ``(train, test)``, with repetitions as in the paper's files.

    - ``simple``: a random 80 / 20 split (seed :data:`SEED`);
    - ``length``: train on outputs of at most 22 actions, test on the longer ones;
    - ``addprim_jump`` / ``addprim_turn_left``: the primitive command (``jump`` / ``turn left``) alone in train,
      repeated so that it makes up 10% of it, with every command that does not contain it; every other command
      that contains it is in test.
    """
    check_choice("scan_split", scan_split, SCAN_SPLITS)
    everything = commands()
    if scan_split == "simple":
        order = np.random.default_rng(SEED).permutation(len(everything))
        shuffled = tuple(everything[i] for i in order)
        return shuffled[:SIMPLE_TRAIN], shuffled[SIMPLE_TRAIN:]
    if scan_split == "length":
        return hold_out_longer(everything, LENGTH_TRAIN_MAX)
    return hold_out_primitive(everything, "jump" if scan_split == "addprim_jump" else "turn left")


def hold_out_longer(commands: Sequence[str], max_actions: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The rule of the ``length`` split, applied to ``commands``: ``(train, held out)``. Train is every command whose
    action sequence has at most ``max_actions`` actions, in order; held out is every longer one, in order."""
    short = [len(interpret(c).split()) <= max_actions for c in commands]
    return (
        tuple(c for c, fits in zip(commands, short) if fits),
        tuple(c for c, fits in zip(commands, short) if not fits),
    )


def hold_out_primitive(commands: Sequence[str], primitive: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The rule of the ``addprim`` splits, applied to ``commands``: ``(train, held out)``. Train is every command
    not containing ``primitive`` (a word or a run of words), in order, then ``primitive`` alone, repeated so that it
    makes up 10% of train; held out is every other command containing it, in order."""
    contains = [f" {primitive} " in f" {c} " for c in commands]
    others = tuple(c for c, has in zip(commands, contains) if not has)
    held = tuple(c for c, has in zip(commands, contains) if has and c != primitive)
    return others + (primitive,) * (len(others) // 9), held


@functools.cache
def split_commands(scan_split: str) -> dict[str, tuple[str, ...]]:
    """Our train / validation / test commands of a paper split: validation is 10% of the paper train split's
    distinct commands other than a repeated primitive (drawn with seed :data:`SEED`); train is the rest of the
    paper train split, so train and validation together are exactly the paper's train file."""
    paper_train, test = paper_split(scan_split)
    counts = Counter(paper_train)
    candidates = [command for command, count in counts.items() if count == 1]
    chosen = np.random.default_rng(SEED).permutation(len(candidates))[: int(len(candidates) * VALIDATION_SHARE)]
    validation = tuple(candidates[i] for i in sorted(chosen))
    held = set(validation)
    return {"train": tuple(c for c in paper_train if c not in held), "validation": validation, "test": test}


@functools.cache
def _longest(word_costs: tuple[tuple[str, int], ...]) -> tuple[int, int]:
    """The costliest command and action sequence of the grammar, for a tokenizer's cost of each word (cached:
    every command is visited)."""
    costs = dict(word_costs)
    everything = commands()
    return (
        max(sum(costs[word] for word in c.split()) for c in everything),
        max(sum(costs[word] for word in interpret(c).split()) for c in everything),
    )


class SCAN(LanguageTask):
    """SCAN: translate a navigation command into its action sequence (Lake & Baroni, ICML 2018).

    ``jump around left twice`` -> ``I_TURN_LEFT I_JUMP`` x 8; ``walk opposite right after run thrice`` ->
    ``I_RUN I_RUN I_RUN I_TURN_RIGHT I_TURN_RIGHT I_WALK``.

    The grammar: primitives ``walk look run jump`` -> ``I_WALK I_LOOK I_RUN I_JUMP``; ``turn left`` ->
    ``I_TURN_LEFT`` (right alike); ``u dir`` = turn(dir) u; ``turn opposite dir`` = turn turn;
    ``u opposite dir`` = turn turn u; ``turn around dir`` = turn x 4; ``u around dir`` = (turn u) x 4;
    ``x twice`` / ``x thrice`` repeat x; ``a and b`` = a then b; ``a after b`` = b then a; at most one ``and`` or
    ``after``. That makes 20,910 distinct commands of 1 to 9 words, with outputs of 1 to 48 actions.

    The dataset is finite: :meth:`examples` lists a split's examples and episodes draw uniformly from it.
    ``scan_split`` picks the paper's split; its train file is cut into our train and validation splits (10% of
    its distinct commands, seed :data:`SEED`; a repeated primitive stays in train), its test file is our test
    split. Sizes (paper train = train + validation / test): ``simple`` 16,728 / 4,182; ``length`` 16,990 /
    3,920; ``addprim_jump`` 14,670 / 7,706; ``addprim_turn_left`` 21,890 / 1,208.

    Reward: exact match of the action sequence (``metric="exact_match"``, default), or token accuracy
    (``metric="token_accuracy"``: the share of positions right, which gives token-level partial credit in dense
    mode). Success: exact match. Threshold 0.95. Action mask: the six actions and ``<eos>``. Published reference:
    99.8% exact match on ``simple`` for the best sequence-to-sequence model, near 0% on ``addprim_jump``.

    Args:
        scan_split: ``"simple"`` (default), ``"length"``, ``"addprim_jump"`` or ``"addprim_turn_left"``.
        metric: ``"exact_match"`` (default) or ``"token_accuracy"``.
        tokenizer, bpe_vocab_size: see :class:`~textgym.tasks.language.LanguageTask` (defaults ``"word"``, 128).
    """

    name = "SCAN"
    metrics = ("exact_match", "token_accuracy")
    reward_threshold = 0.95

    def __init__(
        self,
        scan_split: str = "simple",
        metric: str = "exact_match",
        tokenizer: str = "word",
        bpe_vocab_size: int = 128,
    ) -> None:
        self.scan_split = check_choice("scan_split", scan_split, SCAN_SPLITS)
        self._examples: dict[str, tuple[Example, ...]] = {}
        super().__init__(metric, tokenizer, bpe_vocab_size)

    def vocabulary(self) -> Sequence[str]:
        return COMMAND_WORDS + ACTIONS

    def answer_words(self) -> Sequence[str]:
        return ACTIONS

    def length_bounds(self, cost: Cost) -> tuple[int, int]:
        return _longest(tuple((word, cost(word)) for word in self.vocabulary()))

    def corpus(self) -> list[str]:
        train = dict.fromkeys(split_commands(self.scan_split)["train"])
        return [text for command in train for text in (command, interpret(command))]

    def examples(self, split: str) -> tuple[Example, ...]:
        """Every example of ``split`` (``"train"``, ``"validation"`` or ``"test"``), in a fixed order, with the
        repetitions of the paper's files."""
        check_split(split)
        if split not in self._examples:
            self._examples[split] = tuple(map(self._example, split_commands(self.scan_split)[split]))
        return self._examples[split]

    def sample(self, rng: np.random.Generator, split: str = "train", length_cap: int | None = None) -> Example:
        """A uniform draw from :meth:`examples` (encoded on the fly: building every example takes longer)."""
        check_no_length_knob(self, length_cap)
        commands_of_split = split_commands(self.scan_split)[check_split(split)]
        return self._example(commands_of_split[int(rng.integers(len(commands_of_split)))])

    def _example(self, command: str) -> Example:
        return self.make_example(command, (interpret(command),))
