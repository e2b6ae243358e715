"""textgym: text generation as reinforcement learning environments.

``import textgym`` registers every task as a Gymnasium ID (``textgym/Copy-v0``, ...); ``ENV_IDS`` lists them.
This package depends only on numpy, gymnasium and the metric libraries, never on torch.
"""

from textgym.env import TextGenEnv
from textgym.examples import Example, ExampleBatch
from textgym.registration import env_id, register_envs
from textgym.splits import SPLITS
from textgym.task import Task
from textgym.tasks import TASKS, make_task
from textgym.tokenizers import CharTokenizer, Tokenizer, WordTokenizer
from textgym.vector_env import TextGenVectorEnv

__version__ = "0.1.0"

ENV_IDS: list[str] = register_envs()

__all__ = [
    "ENV_IDS",
    "SPLITS",
    "TASKS",
    "CharTokenizer",
    "Example",
    "ExampleBatch",
    "Task",
    "TextGenEnv",
    "TextGenVectorEnv",
    "Tokenizer",
    "WordTokenizer",
    "env_id",
    "make_task",
    "register_envs",
]
