"""Summarisation: a document of generated sentences about one event; the summary is the event's headline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from textgym.tasks.grammar import Cost, Template, unique_words
from textgym.tasks.language import Draw, LanguageTask, check_choice

TOWNS = ("springfield", "riverside", "oakdale", "lakeview", "hillcrest", "fairview", "greenville", "millbrook")
FILLERS = {
    "town": TOWNS,
    "other_town": TOWNS,  # drawn different from the event's town
    "day": ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
    "thing": ("library", "bridge", "park", "school", "hospital", "stadium"),
    "sport": ("football", "hockey", "rugby", "basketball"),
    "years": ("ten", "twenty", "thirty"),
    "building": ("school", "hospital", "church", "station", "market"),
    "suspect": ("bank robber", "car thief", "burglar", "shoplifter"),
    "company": ("acme", "globex", "initech", "vandelay"),
    "facility": ("factory", "store", "warehouse", "office"),
    "jobs": ("fifty", "eighty", "two hundred"),
    "weather": ("sunny", "rainy", "windy", "cold"),
}


@dataclass(frozen=True)
class Event:
    """A kind of news event: its headline (the reference summary), its lead sentence and its detail sentences."""

    headline: Template
    lead: Template
    details: tuple[Template, ...]


def _event(headline: str, lead: str, *details: str) -> Event:
    return Event(Template(headline), Template(lead), tuple(map(Template, details)))


EVENTS = (
    _event(
        "{town} council approves new {thing}",
        "on {day} , the council of {town} voted to build a new {thing} .",
        "the vote was close .",
        "officials said that the new {thing} would open next year .",
        "some residents criticised the cost of the project .",
    ),
    _event(
        "{town} wins {sport} final",
        "the {sport} team of {town} won the regional final against {other_town} on {day} .",
        "the players celebrated with their fans .",
        "the coach praised the team after the match .",
        "it was their first title in {years} years .",
    ),
    _event(
        "storm damages {building} in {town}",
        "a heavy storm hit {town} on {day} and damaged the local {building} .",
        "nobody was hurt .",
        "repairs are expected to take several weeks .",
        "the {building} will stay closed until further notice .",
    ),
    _event(
        "police arrest {suspect} in {town}",
        "police in {town} arrested a {suspect} on {day} after a short chase .",
        "the suspect was taken to the police station .",
        "officers thanked the public for their help .",
        "the suspect will appear in court next week .",
    ),
    _event(
        "{company} opens {facility} in {town}",
        "the company {company} opened a new {facility} in {town} on {day} .",
        "the {facility} will create {jobs} new jobs .",
        "the mayor attended the opening ceremony .",
        "local shops hope to benefit from the new {facility} .",
    ),
)
DISTRACTORS = (
    Template("the weather in {other_town} was {weather} on {day} ."),
    Template("a music festival is planned in {other_town} next month ."),
    Template("traffic was heavy on the main road on {day} ."),
)
MAX_SENTENCES = 1 + len(EVENTS[0].details) + len(DISTRACTORS)


class Summarisation(LanguageTask):
    """Summarisation: summarise a short news document about one event by the event's headline.

    ``on monday , the council of oakdale voted to build a new library . the vote was close . traffic was heavy on
    the main road on monday .`` -> ``oakdale council approves new library``

    An event is one of five kinds (a council decision, a sports final, a storm, an arrest, a company opening)
    with its slots drawn uniformly (town, day, building, ...). The document is the event's lead sentence, then
    ``num_sentences - 1`` sentences drawn without replacement, in random order, from the event's three detail
    sentences and three distractors about other things (another town, the weather, traffic). The reference
    summary is the event's headline, which rewords the lead (``voted to build`` -> ``approves``). Splits are
    made by a hash of the headline, so a held-out event is never summarised in training.

    Reward: ROUGE-L F1 (rouge-score) against the headline. Success: the headline exactly. Threshold 0.9.
    Action mask: the words of all headlines, and ``<eos>``.

    Args:
        num_sentences: sentences in a document, 1 to 7 (default 3).
        tokenizer: ``"word"`` (default), ``"bpe"`` or the path of a tokenizer ``.json`` file.
        bpe_vocab_size: see :class:`~textgym.tasks.language.LanguageTask`.
    """

    name = "Summarisation"
    metrics = ("rouge_l",)
    reward_threshold = 0.9

    def __init__(self, num_sentences: int = 3, tokenizer: str = "word", bpe_vocab_size: int = 128) -> None:
        self.num_sentences = check_choice("num_sentences", num_sentences, range(1, MAX_SENTENCES + 1))
        super().__init__("rouge_l", tokenizer, bpe_vocab_size)

    def vocabulary(self) -> Sequence[str]:
        templates = [t for event in EVENTS for t in (event.headline, event.lead, *event.details)] + [*DISTRACTORS]
        return unique_words(word for template in templates for word in template.words(FILLERS))

    def answer_words(self) -> Sequence[str]:
        return unique_words(word for event in EVENTS for word in event.headline.words(FILLERS))

    def length_bounds(self, cost: Cost) -> tuple[int, int]:
        def longest(templates: Sequence[Template]) -> int:
            return max(template.longest(FILLERS, cost) for template in templates)

        others = [t for event in EVENTS for t in event.details] + [*DISTRACTORS]
        prompt = longest([event.lead for event in EVENTS]) + (self.num_sentences - 1) * longest(others)
        return prompt, longest([event.headline for event in EVENTS])

    def draw(self, rng: np.random.Generator) -> Draw:
        event = EVENTS[int(rng.integers(len(EVENTS)))]
        values = {name: fillers[int(rng.integers(len(fillers)))] for name, fillers in FILLERS.items()}
        other_towns = [town for town in TOWNS if town != values["town"]]
        values["other_town"] = other_towns[int(rng.integers(len(other_towns)))]
        pool = (*event.details, *DISTRACTORS)
        chosen = rng.permutation(len(pool))[: self.num_sentences - 1]
        document = " ".join(template.fill(values) for template in (event.lead, *(pool[i] for i in chosen)))
        headline = event.headline.fill(values)
        return Draw(document, (headline,), key=headline)
