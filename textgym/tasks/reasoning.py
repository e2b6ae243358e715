"""reasoning-gym's procedural datasets as textgym tasks: the question is the prompt, the dataset scores the answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from textgym.examples import Example
from textgym.splits import check_split, split_of
from textgym.task import Task, check_int
from textgym.tokenizers import CharTokenizer

EXTRA = "pip install 'textgym[reasoning]'"


class ReasoningGym(Task):
    """A `reasoning-gym <https://github.com/open-thought/reasoning-gym>`_ procedural dataset, answered character by
    character.

    ``gym.make("textgym/ReasoningGym-v0", dataset="chain_sum", min_terms=2, max_terms=3)``: ``dataset`` names one
    of reasoning-gym's datasets, and every option this task does not take itself goes to that dataset's
    configuration (its ``*Config`` dataclass), as ``reasoning_gym.create_dataset`` takes it.

    ## Data and splits

    The task generates the dataset's first ``size`` items with ``dataset_seed``, once, when it is built, and keeps
    one item per distinct question (reasoning-gym seeds item ``i`` with ``dataset_seed + i``, so two seeds less than
    ``size`` apart share most items). A stable hash of the question puts each in train, validation or test (80 / 10
    / 10 %), so the splits never share a question, and the same options give the same items and splits on every
    machine. An episode draws one item of its split uniformly.

    ## Vocabulary, prompt, answer

    One token per character (:class:`~textgym.tokenizers.CharTokenizer`): the characters of every question and
    answer of the generated items. The prompt is the question as the dataset writes it; P is the longest question,
    G the longest answer plus one (for ``<eos>``). The action mask allows the characters that occur in answers.

    ## Score, success

    The dataset's own ``score_answer`` of the answer text (special tokens written by name, so they make it wrong),
    clipped to [0, 1]: 1 for a correct answer, partial credit where the dataset gives it (for example the share of
    matching characters). Success: score 1. Dense rewards score each prefix of the answer the same way. Threshold
    0.9.

    reasoning-gym is an optional dependency: without it, building the task raises ``ImportError`` naming the extra
    to install.

    Args:
        dataset: a reasoning-gym dataset name (default ``"basic_arithmetic"``); ``ValueError`` lists them if unknown.
        size: items to generate, 10 to 1,000,000 (default 2,000).
        dataset_seed: the dataset's seed (default 0).
        **config: the dataset's configuration options; one it does not have raises ``ValueError`` naming it.
    """

    name = "ReasoningGym"
    reward_threshold = 0.9
    metric_name = "score_answer"  # the dataset's own scorer; not in textgym.metrics.METRICS

    def __init__(self, dataset: str = "basic_arithmetic", size: int = 2000, dataset_seed: int = 0, **config: Any):
        try:
            import reasoning_gym
        except ImportError:
            raise ImportError(f"textgym/ReasoningGym-v0 needs the reasoning-gym package: {EXTRA}") from None
        known = sorted(reasoning_gym.factory.DATASETS)
        if dataset not in known:
            raise ValueError(f"unknown reasoning-gym dataset {dataset!r}; expected one of {known}")
        self.dataset_name = dataset
        self.size = check_int("size", size, 10, 1_000_000)
        self.dataset_seed = check_int("dataset_seed", dataset_seed, 0)
        try:
            self.dataset = reasoning_gym.create_dataset(dataset, size=self.size, seed=self.dataset_seed, **config)
        except (TypeError, AssertionError, ValueError) as error:  # unknown option, or a value its config refuses
            raise ValueError(f"reasoning-gym dataset {dataset!r} refused the options {config}: {error}") from None

        entries, questions = [], set()
        for entry in self.dataset:
            if entry["question"] not in questions:
                questions.add(entry["question"])
                entries.append(entry)
        self.entries: tuple[dict[str, Any], ...] = tuple(entries)
        texts = [entry["question"] + str(entry["answer"]) for entry in entries]
        self.tokenizer = CharTokenizer(sorted(set("".join(texts)) - {"\0"}))
        self.answer_symbols = sorted(set("".join(str(entry["answer"]) for entry in entries)))
        self.max_prompt_len = max(len(entry["question"]) for entry in entries)
        self.max_gen_len = max(len(str(entry["answer"])) for entry in entries) + 1
        self._examples: dict[str, tuple[Example, ...]] = {}

    def __getstate__(self) -> dict[str, Any]:
        # An Example's meta is a read-only mapping, which does not pickle: the examples are rebuilt on first use.
        return {**self.__dict__, "_examples": {}}

    def examples(self, split: str) -> tuple[Example, ...]:
        """Every example of ``split``, in the dataset's order."""
        if split not in self._examples:
            check_split(split)
            self._examples[split] = tuple(
                self.make_example(entry["question"], (str(entry["answer"]),), entry=index)
                for index, entry in enumerate(self.entries)
                if split_of(entry["question"]) == split
            )
        return self._examples[split]

    def sample(self, rng: np.random.Generator, split: str = "train", length_cap: int | None = None) -> Example:
        examples = self.examples(split)
        if not examples:
            raise ValueError(
                f"no question of the {split!r} split among the {len(self.entries)} distinct questions of "
                f"{self.dataset_name!r}; raise size (now {self.size})"
            )
        return examples[int(rng.integers(len(examples)))]

    def score(self, generated_ids: Sequence[int], example: Example) -> float:
        answer = self.tokenizer.decode(generated_ids, skip_special=False)
        return min(1.0, max(0.0, float(self.dataset.score_answer(answer, self.entries[example.meta["entry"]]))))

    def is_success(self, generated_ids: Sequence[int], example: Example) -> bool:
        return self.score(generated_ids, example) == 1.0
