import shutil
import subprocess
import sys
import zipfile
from pathlib import Path


def test_textgym_imports_without_torch():
    code = (
        "import sys, textgym, gymnasium as gym; gym.make('textgym/Copy-v0').reset(seed=0); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_demo_plays_random_and_oracle_episodes():
    out = subprocess.run(
        [sys.executable, "-m", "textgym", "--envs", "textgym/Reverse-v0", "--episodes", "2"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.count("score=1.00 success=True") == 2  # the oracle's two episodes
    assert "(random policy)" in out and "(oracle policy)" in out


def test_the_wheel_installs_only_the_textgym_package(tmp_path):
    """The folders agents/ and benchmarks/ install as textgym.agents and textgym.benchmarks: a wheel built from the
    project's own files holds no other top-level name (``agents`` is also another SDK's import name)."""
    repo = Path(__file__).resolve().parents[1]
    source = tmp_path / "source"  # a copy, so that the build leaves nothing in the checkout
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("textgym", "agents", "benchmarks"):
        shutil.copytree(repo / folder, source / folder, ignore=ignore)
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(repo / name, source / name)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*command, "--wheel-dir", str(tmp_path / "wheel"), str(source)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "wheel").glob("textgym-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = {Path(name).name: archive.read(name).decode() for name in names if ".dist-info/" in name}
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"textgym"}
    assert metadata["top_level.txt"].split() == ["textgym"]
    for expected in (
        "textgym/agents/pg.py",
        "textgym/benchmarks/cli.py",
        "textgym/benchmarks/perf/env.py",
        "textgym/benchmarks/perf/agent.py",
        "textgym/benchmarks/rl_zoo/ppo.yml",
        "textgym/data/wordle_words.txt",
    ):
        assert expected in names
    suites = repo / "benchmarks" / "suites"
    for suite in suites.rglob("*.toml"):  # every suite and every part of one, so that includes resolve
        assert f"textgym/benchmarks/suites/{suite.relative_to(suites).as_posix()}" in names
    assert "textgym-bench = textgym.benchmarks.cli:main" in metadata["entry_points.txt"]


def test_the_agents_and_the_runner_import_as_textgym_subpackages():
    code = (
        "import sys, textgym.agents, textgym.benchmarks.cli; "
        "print(textgym.agents.make_agent('random').__class__.__module__, 'agents' in sys.modules, "
        "'benchmarks' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/").stdout
    assert out.split() == ["textgym.agents.random_agent", "False", "False"]
