"""Template grammars: the sentence patterns from which the language tasks generate their texts.

A :class:`Template` is a pattern of words with named slots, ``"the {agent} {verb} the {object} ."``; a
:class:`Grammar` is a set of templates with the words (or phrases) each slot may take. Both know every word they
can produce (a task's vocabulary comes from there, never from samples) and the longest text they can produce
under a tokenizer's cost, which fixes a task's observation size.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

Slots = Mapping[str, Sequence[str]]
Cost = Callable[[str], int]


def unique_words(texts: Iterable[str]) -> tuple[str, ...]:
    """The words of ``texts`` (split on whitespace), each once, in order of first appearance."""
    return tuple(dict.fromkeys(word for text in texts for word in text.split()))


def with_article(noun: str) -> str:
    """``noun`` after the indefinite article its first letter asks for: ``a ball``, ``an apple``."""
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


class Template:
    """A pattern of words and named slots, e.g. ``"the {agent} {verb} the {object} ."``.

    Args:
        pattern: words separated by spaces; ``{name}`` marks a slot (a slot may be filled by several words).
    """

    def __init__(self, pattern: str) -> None:
        parts = list(string.Formatter().parse(pattern))
        for _, name, spec, conversion in parts:
            if name is not None and (not name.isidentifier() or spec or conversion):
                raise ValueError(f"template {pattern!r} has a bad slot {{{name}}}; expected {{identifier}}")
        self.pattern = pattern
        self.literal = " ".join(literal for literal, *_ in parts)
        self.slots: tuple[str, ...] = tuple(name for _, name, *_ in parts if name is not None)

    def fill(self, values: Mapping[str, str]) -> str:
        """The text with each slot replaced by its value; a missing value raises ``ValueError`` naming the slot."""
        missing = [slot for slot in self.slots if slot not in values]
        if missing:
            raise ValueError(f"no value for slot(s) {missing} of template {self.pattern!r}")
        return " ".join(self.pattern.format_map(values).split())

    def expand(self, fillers: Slots) -> Iterator[str]:
        """Every text the template makes with ``fillers`` (all combinations, in order)."""
        names = tuple(dict.fromkeys(self.slots))
        for combination in itertools.product(*(fillers[name] for name in names)):
            yield self.fill(dict(zip(names, combination)))

    def words(self, fillers: Slots) -> tuple[str, ...]:
        """Every word the template can produce with ``fillers``."""
        return unique_words([self.literal, *(filler for name in self.slots for filler in fillers[name])])

    def longest(self, fillers: Slots, cost: Cost) -> int:
        """An upper bound on ``cost`` of any text the template makes, for a cost that adds up over words (a
        tokenizer's token count): the literal words plus the costliest filler of each slot. It is exact when the
        slots are independent."""
        return cost(self.literal) + sum(max(cost(filler) for filler in fillers[name]) for name in self.slots)


class Grammar:
    """Templates with the fillers of their slots; a text is a uniformly drawn template with uniformly drawn fillers.

    Args:
        templates: the patterns (see :class:`Template`).
        fillers: for each slot name, the words or phrases it may take (every slot of every template needs some).
    """

    def __init__(self, templates: Sequence[str], fillers: Slots) -> None:
        self.templates = tuple(Template(pattern) for pattern in templates)
        self.fillers = {name: tuple(values) for name, values in fillers.items()}
        for template in self.templates:
            for name in template.slots:
                if not self.fillers.get(name):
                    raise ValueError(f"slot {{{name}}} of template {template.pattern!r} has no fillers")

    def sample(self, rng: np.random.Generator) -> str:
        """One text: a uniform template, then a uniform filler for each slot."""
        template = self.templates[int(rng.integers(len(self.templates)))]
        names = dict.fromkeys(template.slots)
        return template.fill({name: self.fillers[name][int(rng.integers(len(self.fillers[name])))] for name in names})

    def expand(self) -> Iterator[str]:
        """Every text of the grammar, template by template."""
        for template in self.templates:
            yield from template.expand(self.fillers)

    def words(self) -> tuple[str, ...]:
        """Every word the grammar can produce, in order of first appearance."""
        return unique_words(word for template in self.templates for word in template.words(self.fillers))

    def longest(self, cost: Cost) -> int:
        """An upper bound on ``cost`` of any text of the grammar (see :meth:`Template.longest`)."""
        return max(template.longest(self.fillers, cost) for template in self.templates)
