"""``python -m textgym.benchmarks``: the benchmark runner, as ``textgym-bench``."""

import sys

from textgym.benchmarks.cli import main

if __name__ == "__main__":
    sys.exit(main())
