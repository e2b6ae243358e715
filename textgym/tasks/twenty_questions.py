"""Twenty questions: the user thinks of one object of a generated world; the agent asks about its attributes and
then names it."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from textgym.task import check_int
from textgym.tasks.dialogue import MALFORMED
from textgym.tasks.guessing import GuessingGame
from textgym.tokenizers import WordTokenizer

COLOURS = ("red", "green", "blue", "yellow")
SIZES = ("small", "medium", "big")
PLACES = ("kitchen", "garden", "garage", "bedroom")
OBJECTS: dict[str, tuple[str, ...]] = {  # kind -> object names, in the order a world takes them
    kind: tuple(names.split())
    for kind, names in (
        (
            "pet",
            "cat dog rabbit hamster parrot goldfish mouse pony turtle lizard ferret canary frog gerbil snake budgie",
        ),
        ("fruit", "apple banana cherry grape lemon mango peach pear plum orange melon kiwi lime fig apricot coconut"),
        (
            "tool",
            "hammer saw drill spanner chisel shovel rake axe pliers ladder brush knife scissors trowel mallet pail",
        ),
        (
            "toy",
            "ball doll kite puzzle yoyo robot teddy train drum balloon marble skateboard top whistle puppet blocks",
        ),
    )
}
KINDS = tuple(OBJECTS)
MAX_OBJECTS_PER_KIND = 16


@dataclass(frozen=True)
class Thing:
    """One object of a world and its attributes."""

    name: str
    colour: str
    size: str
    kind: str
    place: str


def make_world(objects_per_kind: int, seed: int) -> tuple[Thing, ...]:
    """The world of :class:`TwentyQuestions`: the first ``objects_per_kind`` names of each kind, each with a colour,
    size and place drawn (with ``seed``) without replacement among the combinations, so that no two objects share
    all four attributes."""
    rng = np.random.default_rng(seed)
    looks = list(product(COLOURS, SIZES, PLACES))
    world = []
    for kind, names in OBJECTS.items():
        picks = rng.choice(len(looks), size=objects_per_kind, replace=False)
        for name, pick in zip(names[:objects_per_kind], picks.tolist()):
            colour, size, place = looks[pick]
            world.append(Thing(name, colour, size, kind, place))
    return tuple(world)


class TwentyQuestions(GuessingGame):
    """Twenty questions: find the object the user thinks of, among the objects of a generated world.

    ## World

    ``objects_per_kind`` objects of each of four kinds (``pet``, ``fruit``, ``tool``, ``toy``), each with a colour
    (``red green blue yellow``), a size (``small medium big``) and a place (``kitchen garden garage bedroom``) drawn
    with ``world_seed``; no two objects share all four attributes. The world is the same in every episode (it is
    ``task.world``); each episode the user thinks of one of its objects. The prompt is ``guess the object``.

    ## Conversation

    One question per turn, answered ``yes`` or ``no``:

    - attribute questions: ``is it red``, ``is it small``, ``is it a pet``, ``is it in the kitchen``;
    - a guess: ``is it the cat``. A guess is a final answer: ``yes`` wins, ``no`` ends the conversation unsolved.

    Any other turn gets ``i do not understand`` and costs a turn. An example::

        guess the object -> is it a fruit <eot> no <eot> is it red <eot> yes <eot> ... is it the kite <eot> yes <eot>

    ## Limits, score, success

    A turn holds at most 5 tokens (``is it in the kitchen``, which ends the turn by itself; shorter questions need
    the agent's ``<eot>``). At most ``max_turns`` turns (10 by default; 20 for the parlour game). Success: a right
    guess. Score: ``1 - turn_cost * turns`` on success, 0 otherwise. Dense rewards: the information the answers
    give about the object (see :class:`~textgym.tasks.guessing.GuessingGame`), summing to the score.

    ## Scripted policy

    Attribute halving: the attribute question that leaves the fewest objects expected, until one object is left,
    then the guess. On the default world it solves every object in 5 to 7 turns (6.13 on average, a mean score of
    0.939).

    ## Weak policy

    ``demonstrator="weak"``: an attribute question drawn uniformly among those whose answer is not the same for
    every object still possible, and the guess of one of the objects drawn uniformly once at most two are left.
    The draws are a hash of the secret and the turn number (:func:`~textgym.task.weak_draw`), the same in
    every process. On the default world it finds 22 of the 32 objects (a mean score of 0.643), neither of the 2
    test objects; the attribute halving finds all.

    ## Splits

    Disjoint by the object: held-out objects are never the secret of a training episode (27 / 3 / 2 objects of the
    default world in train / validation / test). A policy that must name an object it was never rewarded for naming
    has to generalise from the world's structure, which a token-level policy hardly can.

    Args:
        objects_per_kind: objects of each kind, 2 to 16 (default 8: a world of 32 objects).
        world_seed: seed of the attributes (default 0).
        max_turns, turn_cost: see :class:`~textgym.tasks.dialogue.DialogueTask` (defaults 10 and 0.01).
        demonstrator: the policy of ``scripted_action``, ``demonstration`` and ``oracle_actions``: ``"scripted"``
            (default, attribute halving) or ``"weak"`` (random attribute questions).
    """

    name = "TwentyQuestions"
    reward_threshold = 0.9

    def __init__(
        self,
        objects_per_kind: int = 8,
        world_seed: int = 0,
        max_turns: int = 10,
        turn_cost: float = 0.01,
        demonstrator: str = "scripted",
    ) -> None:
        objects_per_kind = check_int("objects_per_kind", objects_per_kind, 2, MAX_OBJECTS_PER_KIND)
        self.world = make_world(objects_per_kind, check_int("world_seed", world_seed, 0))
        names = tuple(thing.name for thing in self.world)
        vocabulary = (
            *"guess the object is it a in".split(),
            *COLOURS,
            *SIZES,
            *KINDS,
            *PLACES,
            *names,
            "yes",
            "no",
            *MALFORMED.split(),
        )
        self.tokenizer = WordTokenizer(vocabulary)
        self.prompt = "guess the object"
        self.secrets = names
        # Each question asks whether attribute a (colour, size, kind, place, or 4: the object itself) has value v.
        asked = [
            *((0, f"is it {colour}") for colour in COLOURS),
            *((1, f"is it {size}") for size in SIZES),
            *((2, f"is it a {kind}") for kind in KINDS),
            *((3, f"is it in the {place}") for place in PLACES),
            *((4, f"is it the {name}") for name in names),
        ]
        self.questions = tuple(text for _, text in asked)
        self._attribute = np.array([attribute for attribute, _ in asked])
        self._value = np.concatenate([np.arange(len(values)) for values in (COLOURS, SIZES, KINDS, PLACES, names)])
        self._table = np.array(
            [
                (COLOURS.index(t.colour), SIZES.index(t.size), KINDS.index(t.kind), PLACES.index(t.place), i)
                for i, t in enumerate(self.world)
            ]
        )
        self.replies = ("no", "yes")
        guesses = self._attribute == 4
        self.winning_questions = np.flatnonzero(guesses)
        self.final_questions = guesses
        self.probe_questions = ~guesses
        super().__init__(max_turns, turn_cost, demonstrator)

    def outcomes(self, questions: np.ndarray, secrets: np.ndarray) -> np.ndarray:
        """1 (``yes``) where the secret object has the asked value of the asked attribute, else 0 (``no``)."""
        values = self._table[secrets][:, self._attribute[questions]].T
        return (values == self._value[questions][:, None]).astype(np.int64)
