"""The render modes: ``"ansi"`` text and ``"rgb_array"`` frames of one fixed size that show the same text."""

import gymnasium as gym
import numpy as np

import textgym  # noqa: F401
from textgym.rendering import COLUMNS, FRAME_SHAPE, LINES, text_frame


def test_rgb_array_frames_show_the_ansi_text_of_the_same_episode_in_one_shape():
    text_env = gym.make("textgym/Copy-v0", render_mode="ansi")
    image_env = gym.make("textgym/Copy-v0", render_mode="rgb_array")
    assert text_frame("").min() == 255  # blank before the first reset
    assert np.array_equal(image_env.unwrapped.render(), text_frame(""))
    for env in (text_env, image_env):
        env.reset(seed=3)
    for action in (3, 4, 1):
        for env in (text_env, image_env):
            env.step(action)
        frame = image_env.render()
        assert frame.shape == FRAME_SHAPE and frame.dtype == np.uint8
        assert np.array_equal(frame, text_frame(text_env.render()))
    assert not np.array_equal(frame, text_frame(""))


def test_the_vector_env_renders_one_frame_per_sub_environment():
    vector, texts = (
        gym.make_vec("textgym/Reverse-v0", num_envs=3, vectorization_mode="vector_entry_point", render_mode=mode)
        for mode in ("rgb_array", "ansi")
    )
    for env in (vector, texts):
        env.reset(seed=[1, 2, 3])
        env.step(np.array([3, 4, 5]))
    frames = vector.render()
    assert len(frames) == 3 and [np.array_equal(f, text_frame(t)) for f, t in zip(frames, texts.render())] == [True] * 3


def test_text_beyond_the_frame_is_cut_and_the_frame_keeps_its_size():
    long = "x" * (COLUMNS * LINES)
    assert text_frame(long).shape == text_frame("short").shape == FRAME_SHAPE
    assert np.array_equal(text_frame(long + "a"), text_frame(long + "b"))  # the end is cut off
    assert not np.array_equal(text_frame(long), text_frame("x" * COLUMNS * (LINES - 1)))  # the last line shows "..."
