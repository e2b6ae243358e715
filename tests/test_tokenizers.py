import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from textgym.tokenizers import BPETokenizer, CharTokenizer, WordTokenizer, cache_dir

CHARS = "abc+="
WORDS = ("walk", "left", "twice", "and")


def test_special_ids_and_vocab():
    tok = CharTokenizer(CHARS)
    assert (tok.pad_id, tok.eos_id, tok.eot_id) == (0, 1, 2)
    assert tok.vocab_size == 3 + len(CHARS)
    assert tok.tokens[:3] == ("<pad>", "<eos>", "<eot>")
    assert tok.tokens[3:] == tuple(CHARS)


def test_encode_adds_no_special_tokens():
    assert CharTokenizer(CHARS).encode("ab=") == [3, 4, 7]
    assert WordTokenizer(WORDS).encode("walk  left\ttwice") == [3, 4, 5]
    assert CharTokenizer(CHARS).encode("") == []


@given(st.text(alphabet=CHARS, max_size=30))
def test_char_round_trip(text):
    tok = CharTokenizer(CHARS)
    assert tok.decode(tok.encode(text)) == text


@given(st.lists(st.sampled_from(WORDS), max_size=20))
def test_word_round_trip(words):
    tok = WordTokenizer(WORDS)
    text = " ".join(words)
    assert tok.decode(tok.encode(text)) == text


def test_decode_drops_or_names_special_tokens():
    tok = CharTokenizer(CHARS)
    assert tok.decode([3, 0, 1, 4]) == "ab"
    assert tok.decode([3, 0, 1, 4], skip_special=False) == "a<pad><eos>b"


@pytest.mark.parametrize(
    "tok, text, bad",
    [(CharTokenizer(CHARS), "abz", "'z'"), (WordTokenizer(WORDS), "walk jump", "'jump'")],
)
def test_unknown_symbol_raises_naming_it(tok, text, bad):
    with pytest.raises(ValueError, match=bad):
        tok.encode(text)


def test_bad_ids_and_bad_vocabularies_raise():
    tok = CharTokenizer(CHARS)
    with pytest.raises(ValueError, match="token id 99"):
        tok.decode([3, 99])
    with pytest.raises(ValueError, match="'aa'"):
        CharTokenizer(["a", "aa"])
    with pytest.raises(ValueError, match="repeated"):
        CharTokenizer("aba")
    with pytest.raises(ValueError, match="'<eos>'"):
        WordTokenizer(["<eos>"])
    with pytest.raises(ValueError, match="'two words'"):
        WordTokenizer(["two words"])


CORPUS = ["the cat sat on the mat", "the dog ate the bone", "the cat ate the fish"] * 20


def test_bpe_keeps_special_ids_and_round_trips():
    tok = BPETokenizer.train(CORPUS, vocab_size=40)
    assert tok.tokens[:3] == ("<pad>", "<eos>", "<eot>") and tok.vocab_size <= 40
    ids = tok.encode("the  cat ate\tthe mat")
    assert min(ids) >= 3  # encode adds no special tokens
    assert tok.decode(ids) == "the cat ate the mat"  # words joined by single spaces
    assert tok.tokens[tok.encode("the")[0]] == "\u2581the"  # a frequent word is one piece, marked as a word start
    assert tok.decode([*tok.encode("the cat"), 0, 1], skip_special=False) == "the cat<pad><eos>"
    assert tok.decode([*tok.encode("the cat"), 0, 1]) == "the cat"


@given(st.lists(st.sampled_from(["the", "cat", "sat", "on", "mat", "dog", "ate", "bone", "fish", "act", "tote"])))
def test_bpe_round_trip_of_words_it_never_saw_whole(words):
    tok = BPETokenizer.train(CORPUS, vocab_size=30)
    text = " ".join(words)
    assert tok.decode(tok.encode(text)) == text


def test_bpe_unknown_character_raises_naming_it():
    tok = BPETokenizer.train(CORPUS, vocab_size=40)
    with pytest.raises(ValueError, match="character 'z' of 'the zebra'"):
        tok.encode("the zebra")
    with pytest.raises(ValueError, match="'<'"):
        tok.encode("the <pad>")  # special tokens are ids, never text


def test_bpe_training_is_deterministic_across_processes():
    code = f"import sys; from textgym.tokenizers import BPETokenizer; print(BPETokenizer.train({CORPUS!r}, 40).tokens)"
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True) for _ in "ab"]
    assert runs[0].stdout == runs[1].stdout == f"{BPETokenizer.train(CORPUS, 40).tokens}\n"


def test_bpe_cache_is_reused_and_rebuilt_when_missing_or_unreadable(tmp_path):
    first = BPETokenizer.cached(CORPUS, 40, directory=tmp_path)
    (path,) = tmp_path.iterdir()
    assert path.name.startswith("bpe-") and path.suffix == ".json"
    stamp = path.stat().st_mtime_ns
    assert BPETokenizer.cached(CORPUS, 40, directory=tmp_path).tokens == first.tokens
    assert path.stat().st_mtime_ns == stamp  # loaded, not trained again
    path.unlink()
    assert BPETokenizer.cached(CORPUS, 40, directory=tmp_path).tokens == first.tokens and path.is_file()
    path.write_text("not json")
    assert BPETokenizer.cached(CORPUS, 40, directory=tmp_path).tokens == first.tokens
    BPETokenizer.cached(CORPUS, 41, directory=tmp_path)
    BPETokenizer.cached(CORPUS[:3], 40, directory=tmp_path)
    assert len(list(tmp_path.iterdir())) == 3  # another size or corpus, another file


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TEXTGYM_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("TEXTGYM_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "textgym"
