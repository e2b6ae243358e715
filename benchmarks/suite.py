"""Benchmark suites: which environments, agents, seeds and budget a run compares, read from TOML files.

A suite file (see ``benchmarks/suites/quick.toml``)::

    description = "..."          # optional
    seeds = 3                    # seeds 0, 1, 2
    steps = 30_000               # environment-step budget of every trial
    eval_every = 10_000          # evaluate every this many environment steps (and at 0 and at the end)
    eval_episodes = 100          # held-out test prompts per evaluation
    reference = "pg"             # optional: the agent the report compares the others with
    eval_decoding = "sampled"    # optional: evaluations sample actions from the policy ("greedy" by default)
    trial_timeout = 3600         # optional: seconds a trial may run before it is stopped and recorded as failed
    include = ["language"]       # optional: suites whose trials join these, each at its own seeds and budget
    envs = ["textgym/Copy-v0", { id = "textgym/Reverse-v0", options = { max_length = 4 } },
            { id = "textgym/Reverse-v0", label = "Reverse-8", options = { max_length = 8 } }]
    agents = ["random", { name = "sb3-ppo", options = { n_epochs = 4 } },
              { name = "pg", label = "pg+warm", options = { warm_start_steps = 20_000 } }]

:func:`load_suite` checks the file's shape; :func:`check_suite` checks that every environment and agent can be
built with its options. Both raise :class:`SuiteError` naming the bad value, before any trial starts.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gymnasium as gym

from textgym.agents import make_agent
from textgym.agents.envs import env_spec
from textgym.agents.evaluation import evaluation_options
from textgym.benchmarks.trial import EVAL_DECODINGS, EVAL_SEED, TrialSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SUITES_DIR = Path(__file__).parent / "suites"
"""Where the named suites (``quick``, ``full``) live."""

REQUIRED_KEYS = ("seeds", "steps", "eval_every", "eval_episodes", "envs", "agents")
OPTIONAL_KEYS = ("description", "reference", "eval_decoding")
TIMEOUT_KEY = "trial_timeout"
INCLUDE_KEY = "include"


class SuiteError(ValueError):
    """A suite that cannot run: a malformed file, an unknown environment or agent, a bad option."""


@dataclass(frozen=True)
class EnvEntry:
    """One environment of a suite.

    Args:
        id: a registered environment ID.
        options: task and environment options passed to ``gym.make``.
        label: how results and reports name the environment (default: ``id``), so that one ID can run with two
            sets of options in one suite.
    """

    id: str
    options: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def key(self) -> str:
        """The environment's name in results: its label, else its ID."""
        return self.label or self.id


@dataclass(frozen=True)
class AgentEntry:
    """One agent of a suite.

    Args:
        name: a name :func:`textgym.agents.make_agent` accepts (built-in, entry point or ``"package.module:factory"``).
        options: keyword options of the agent's factory.
        label: how results and reports name the agent (default: ``name``), so that one agent can run with two
            sets of options in one suite.
    """

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def key(self) -> str:
        """The agent's name in results: its label, else its name."""
        return self.label or self.name


@dataclass(frozen=True)
class Suite:
    """Environments x agents x seeds at one budget, and the suites it includes, each at its own.

    Args:
        name: the suite's name (its file name without ``.toml``).
        envs: the environments.
        agents: the agents.
        seeds: how many seeds; trials use seeds ``0 .. seeds - 1``.
        steps: the environment-step budget of every trial.
        eval_every: environment steps between evaluations.
        eval_episodes: held-out test prompts per evaluation.
        reference: the agent the report compares every other agent with.
        description: free text for the report.
        includes: suites whose trials join this one's, each at its own seeds, budget and options (a suite file's
            ``include``); their environments' names must differ from this suite's and from each other's.
        trial_timeout: seconds a trial of this suite may run (``None``: no limit); one that runs longer is
            stopped and recorded as failed.
        eval_decoding: how evaluations choose actions, ``"greedy"`` or ``"sampled"``
            (:class:`~benchmarks.trial.TrialSpec`).
    """

    name: str
    envs: tuple[EnvEntry, ...]
    agents: tuple[AgentEntry, ...]
    seeds: int
    steps: int
    eval_every: int
    eval_episodes: int
    reference: str = "pg"
    description: str = ""
    includes: tuple[Suite, ...] = ()
    trial_timeout: float | None = None
    eval_decoding: str = "greedy"

    def parts(self) -> list[Suite]:
        """The suite without its includes, then every included suite's parts: cross-products of environments,
        agents and seeds at one budget each."""
        return [replace(self, includes=()), *(part for included in self.includes for part in included.parts())]

    def trials(self) -> list[TrialSpec]:
        """Every trial of the suite, part by part, and in a part environment by environment, agent by agent, seed
        by seed."""
        return [trial for part in self.parts() for trial in part._own_trials()]

    def _own_trials(self) -> list[TrialSpec]:
        """The trials of this suite's own environments and agents, its includes left out."""
        return [
            TrialSpec(
                env=env.id,
                env_label=env.label,
                env_options=env.options,
                agent=agent.name,
                label=agent.label,
                agent_options=agent.options,
                seed=seed,
                steps=self.steps,
                eval_every=self.eval_every,
                eval_episodes=self.eval_episodes,
                eval_decoding=self.eval_decoding,
            )
            for env in self.envs
            for agent in self.agents
            for seed in range(self.seeds)
        ]

    def with_overrides(
        self,
        envs: list[str] | None = None,
        agents: list[str] | None = None,
        seeds: int | None = None,
        steps: int | None = None,
        eval_every: int | None = None,
        trial_timeout: float | None = None,
    ) -> Suite:
        """The suite with the command line's choices in place of its own; ``None`` keeps the suite's value.

        Args:
            envs: environments to run instead of the suite's, by ID or label; one the suite lists keeps its options.
                On a suite with includes, the environments to keep, each in its part; naming one no part lists
                raises :class:`SuiteError`.
            agents: agents to run instead of the suite's, by name or label; one the suite lists keeps its options.
                On a suite with includes, the agents to keep in every part that lists them (likewise).
            seeds: number of seeds (of every part).
            steps: budget per trial (of every part).
            eval_every: environment steps between evaluations (of every part).
            trial_timeout: seconds a trial may run (of every part).
        """
        numbers = {"seeds": seeds, "steps": steps, "eval_every": eval_every, "trial_timeout": trial_timeout}
        suite = (
            self._parts_with_overrides(envs, agents, **numbers)
            if self.includes
            else self._own_overrides(envs, agents, **numbers)
        )
        chosen = [f"--{key} {' '.join(names)}" for key, names in (("envs", envs), ("agents", agents)) if names]
        if chosen:  # the description says the run is a selection, in run.json and in the report's title
            suite = replace(suite, description=f"{suite.description}; only {', '.join(chosen)}".lstrip("; "))
        return suite

    def _own_overrides(self, envs: list[str] | None, agents: list[str] | None, **numbers: float | None) -> Suite:
        """:meth:`with_overrides` of a suite without includes."""
        known_envs = {env.key: env for env in self.envs}
        known_agents = {agent.key: agent for agent in self.agents}
        overridden = {
            "envs": None if envs is None else tuple(known_envs.get(id_, EnvEntry(id_)) for id_ in envs),
            "agents": None if agents is None else tuple(known_agents.get(n, AgentEntry(n)) for n in agents),
            **numbers,
        }
        suite = replace(self, **{key: value for key, value in overridden.items() if value is not None})
        return _checked_shape(suite, source="the command line")

    def _parts_with_overrides(self, envs: list[str] | None, agents: list[str] | None, **numbers: float | None) -> Suite:
        """:meth:`with_overrides` of a suite with includes: keep the named entries in each part, drop the parts
        left without an environment or an agent, set the numbers in every part."""
        parts = self.parts()
        for key, names in (("envs", envs), ("agents", agents)):
            known = {entry.key for part in parts for entry in getattr(part, key)}
            unknown = [name for name in names or () if name not in known]
            if unknown:
                raise SuiteError(
                    f"suite {self.name!r} includes other suites, so --{key} chooses among its entries; "
                    f"{unknown} not among {sorted(known)}"
                )
        kept = []
        for part in parts:
            part_envs = tuple(e for e in part.envs if envs is None or e.key in envs)
            part_agents = tuple(a for a in part.agents if agents is None or a.key in agents)
            if part_envs and part_agents:
                overridden = {"envs": part_envs, "agents": part_agents, **numbers}
                kept.append(replace(part, **{key: value for key, value in overridden.items() if value is not None}))
        if not kept:
            raise SuiteError(f"no part of suite {self.name!r} lists both environments {envs} and agents {agents}")
        first, *rest = kept
        head = replace(first, name=self.name, description=self.description, reference=self.reference)
        return _checked_shape(replace(head, includes=tuple(rest)), source="the command line")


def resolve_suite_path(suite: str | Path) -> Path:
    """The file of ``suite``: a named suite in :data:`SUITES_DIR` or a path to a TOML file."""
    path = Path(suite)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise SuiteError(f"suite file {str(path)!r} does not exist")
        return path
    named = SUITES_DIR / f"{suite}.toml"
    if not named.is_file():
        names = sorted(p.stem for p in SUITES_DIR.glob("*.toml"))
        raise SuiteError(f"unknown suite {str(suite)!r}; expected a path to a .toml file or one of {names}")
    return named


def load_suite(suite: str | Path, _including: tuple[Path, ...] = ()) -> Suite:
    """Read and check the shape of a suite, and of the suites it includes: a name (``"quick"``, ``"full"``) or a
    path to a TOML file. An included suite is a named suite or a ``.toml`` path relative to the including file."""
    path = resolve_suite_path(suite)
    source = f"suite {str(path)!r}"
    if path.resolve() in _including:
        raise SuiteError(f"{source} includes itself (through {[str(p) for p in _including]})")
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as error:
        raise SuiteError(f"{source} is not UTF-8 text ({error.reason} at byte {error.start})") from None
    except tomllib.TOMLDecodeError as error:
        raise SuiteError(f"{source} is not valid TOML: {error}") from None
    expected_keys = (*REQUIRED_KEYS, *OPTIONAL_KEYS, TIMEOUT_KEY, INCLUDE_KEY)
    unknown = sorted(set(data) - set(expected_keys))
    if unknown:
        raise SuiteError(f"{source}: unknown key(s) {unknown}; expected {list(expected_keys)}")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise SuiteError(f"{source}: missing key(s) {missing}")
    for key in OPTIONAL_KEYS:
        if key in data and not isinstance(data[key], str):
            raise SuiteError(f"{source}: {key!r} must be a string, got {data[key]!r}")
    includes = data.get(INCLUDE_KEY, [])
    if not isinstance(includes, list) or not all(isinstance(name, str) and name for name in includes):
        raise SuiteError(f"{source}: {INCLUDE_KEY!r} must be a list of suite names or paths, got {includes!r}")
    included = tuple(
        load_suite(path.parent / name if name.endswith(".toml") else name, (*_including, path.resolve()))
        for name in includes
    )
    suite = Suite(
        name=path.stem,
        envs=tuple(_entry(item, EnvEntry, "id", "envs", source) for item in _list(data, "envs", source)),
        agents=tuple(_entry(item, AgentEntry, "name", "agents", source) for item in _list(data, "agents", source)),
        seeds=data["seeds"],
        steps=data["steps"],
        eval_every=data["eval_every"],
        eval_episodes=data["eval_episodes"],
        **{key: data[key] for key in OPTIONAL_KEYS if key in data},
        includes=included,
        trial_timeout=data.get(TIMEOUT_KEY),
    )
    agent_names = sorted({agent.key for part in suite.parts() for agent in part.agents})
    if "reference" in data and data["reference"] not in agent_names:
        raise SuiteError(f"{source}: reference {data['reference']!r} is not one of its agents {agent_names}")
    return _checked_shape(suite, source)


def check_suite(suite: Suite) -> None:
    """Build every environment (train split, and test split as evaluations build it) and every agent of ``suite``
    once with its options.

    Raises :class:`SuiteError` naming the environment or agent that cannot be built and why.
    """
    for part in suite.includes:
        check_suite(part)
    for env in suite.envs:
        try:
            for split, options in (("train", env.options), ("test", evaluation_options(env.options))):
                built = gym.make(env_spec(env.id, **options), split=split)
                built.reset(seed=EVAL_SEED)
                built.close()
        except Exception as error:
            raise SuiteError(f"environment {env.key!r} with options {env.options}: {error}") from error
    for agent in suite.agents:
        try:
            make_agent(agent.name, seed=0, **agent.options)
        except Exception as error:
            raise SuiteError(f"agent {agent.key!r} with options {agent.options}: {error}") from error


def _checked_shape(suite: Suite, source: str) -> Suite:
    """``suite`` if its numbers are positive integers, its evaluation decoding a known one and its lists non-empty
    without repeats."""
    for key in ("seeds", "steps", "eval_every", "eval_episodes"):
        value = getattr(suite, key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SuiteError(f"{source}: {key!r} must be a positive integer, got {value!r}")
    if suite.eval_decoding not in EVAL_DECODINGS:
        raise SuiteError(
            f"{source}: 'eval_decoding' must be one of {list(EVAL_DECODINGS)}, got {suite.eval_decoding!r}"
        )
    timeout = suite.trial_timeout
    if timeout is not None and not (
        isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and 0 < timeout < float("inf")
    ):
        raise SuiteError(f"{source}: {TIMEOUT_KEY!r} must be a positive number of seconds, got {timeout!r}")
    for key, names in (("envs", [e.key for e in suite.envs]), ("agents", [a.key for a in suite.agents])):
        if not names:
            raise SuiteError(f"{source}: {key!r} must list at least one entry")
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise SuiteError(f"{source}: {key!r} lists {repeated} more than once")
    env_names = [env.key for part in suite.parts() for env in part.envs]
    shared = sorted({name for name in env_names if env_names.count(name) > 1})
    if shared:
        raise SuiteError(f"{source}: environment(s) {shared} in more than one of its parts; give them labels")
    return suite


def _list(data: dict[str, Any], key: str, source: str) -> list[Any]:
    """``data[key]`` if it is a list."""
    if not isinstance(data[key], list):
        raise SuiteError(f"{source}: {key!r} must be a list, got {data[key]!r}")
    return data[key]


def _entry(item: Any, entry_class: type, name_key: str, list_key: str, source: str) -> Any:
    """An :class:`EnvEntry` or :class:`AgentEntry` from a string or a table ``{name_key = ..., options = {...},
    label = ...}`` (``options`` and ``label`` optional)."""
    if isinstance(item, str):
        item = {name_key: item}
    if not isinstance(item, dict):
        raise SuiteError(f"{source}: each of {list_key!r} must be a string or a table, got {item!r}")
    expected = [name_key, "options", "label"]
    unknown = sorted(set(item) - set(expected))
    if unknown:
        raise SuiteError(f"{source}: unknown key(s) {unknown} in {list_key!r} entry {item!r}; expected {expected}")
    name, options = item.get(name_key), item.get("options", {})
    if not isinstance(name, str) or not name:
        raise SuiteError(f"{source}: {list_key!r} entry {item!r} needs a string {name_key!r}")
    if not isinstance(options, dict):
        raise SuiteError(f"{source}: 'options' of {name!r} must be a table, got {options!r}")
    if "label" in item:
        if not isinstance(item["label"], str) or not item["label"]:
            raise SuiteError(f"{source}: 'label' of {name!r} must be a non-empty string, got {item['label']!r}")
        return entry_class(name, options, item["label"])
    return entry_class(name, options)
