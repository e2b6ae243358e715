"""Helpers shared by test modules."""

from typing import Any

import numpy as np


def assert_same(got: Any, expected: Any, path: str = "result") -> None:
    """Assert that two nested results (tuples, lists, dicts, numpy arrays, scalars) are identical: same keys, same
    types, dtypes and shapes, and equal values (object arrays compared element by element)."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(expected), (
            f"{path}: keys {sorted(got)} != {sorted(expected)}"
        )
        for key in expected:
            assert_same(got[key], expected[key], f"{path}[{key!r}]")
    elif isinstance(expected, (tuple, list)) and not (expected and isinstance(expected[0], str)):
        assert type(got) is type(expected) and len(got) == len(expected), f"{path}: {got!r} != {expected!r}"
        for i, (a, b) in enumerate(zip(got, expected)):
            assert_same(a, b, f"{path}[{i}]")
    elif isinstance(expected, np.ndarray):
        assert isinstance(got, np.ndarray), f"{path}: {type(got)} is not an array"
        assert (got.dtype, got.shape) == (expected.dtype, expected.shape), (
            f"{path}: {got.dtype}{got.shape} != {expected.dtype}{expected.shape}"
        )
        if expected.dtype == object:
            for i, (a, b) in enumerate(zip(got, expected)):
                assert_same(a, b, f"{path}[{i}]")
        else:
            assert np.array_equal(got, expected), f"{path}: {got} != {expected}"
    else:
        assert type(got) is type(expected) and got == expected, f"{path}: {got!r} != {expected!r}"
