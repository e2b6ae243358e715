import os

import pytest
import torch

# Tests run in parallel, one pytest-xdist worker per core: one torch thread each keeps them from fighting over
# the cores (and makes CPU results independent of the machine's core count).
torch.set_num_threads(1)


@pytest.fixture(autouse=True, scope="session")
def bpe_cache_in_a_temporary_directory(tmp_path_factory):
    """Trained BPE tokenizers go to a fresh directory, not the user's cache: every run trains them once."""
    previous = os.environ.get("TEXTGYM_CACHE_DIR")
    os.environ["TEXTGYM_CACHE_DIR"] = str(tmp_path_factory.mktemp("textgym-cache"))
    yield
    if previous is None:
        del os.environ["TEXTGYM_CACHE_DIR"]
    else:
        os.environ["TEXTGYM_CACHE_DIR"] = previous
