import pytest
from hypothesis import given
from hypothesis import strategies as st

from textgym.tokenizers import CharTokenizer, WordTokenizer

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
