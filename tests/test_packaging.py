import subprocess
import sys


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
