"""Tokenizers: map text to token ids and back.

Every tokenizer has the same fixed special tokens at the start of its vocabulary:

====  =========  ==============================================================
id    token      meaning
====  =========  ==============================================================
0     ``<pad>``  empty slot in an observation; never part of a text
1     ``<eos>``  end of the generated text (the action that ends an episode)
2     ``<eot>``  end of turn (dialogue tasks hand the turn to the other side)
====  =========  ==============================================================

followed by the task's symbols (characters or words) in the order the task lists them, so a task's ids are
stable for a given set of options. ``encode`` never adds special tokens; ``decode`` drops them unless asked not to.

:class:`BPETokenizer` learns its symbols (sub-word pieces) from a corpus with the ``tokenizers`` library and
caches what it learned on disk (see :func:`cache_dir`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import tokenizers

PAD, EOS, EOT = "<pad>", "<eos>", "<eot>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, EOS, EOT)


class Tokenizer:
    """A fixed vocabulary: special tokens first, then the task's symbols.

    Subclasses decide how a text splits into symbols (:meth:`split`) and how symbols join back (:meth:`join`).

    Args:
        symbols: the vocabulary after the special tokens, in id order. Duplicates and special-token names are
            rejected, so that every id means one thing.
    """

    pad_id: int = 0
    eos_id: int = 1
    eot_id: int = 2

    def __init__(self, symbols: Iterable[str]) -> None:
        symbols = tuple(symbols)
        if not symbols:
            raise ValueError("a tokenizer needs at least one symbol, got none")
        seen: set[str] = set()
        for symbol in symbols:
            if not isinstance(symbol, str) or symbol == "":
                raise ValueError(f"tokenizer symbols must be non-empty strings, got {symbol!r}")
            if symbol in SPECIAL_TOKENS or symbol in seen:
                raise ValueError(f"tokenizer symbol {symbol!r} is repeated or clashes with a special token")
            seen.add(symbol)
        self.tokens: tuple[str, ...] = SPECIAL_TOKENS + symbols
        self._ids: dict[str, int] = {token: i for i, token in enumerate(self.tokens)}

    @property
    def vocab_size(self) -> int:
        """Number of ids, special tokens included."""
        return len(self.tokens)

    @property
    def num_special(self) -> int:
        """Number of special tokens; symbol ids start here."""
        return len(SPECIAL_TOKENS)

    def split(self, text: str) -> list[str]:
        raise NotImplementedError

    def join(self, symbols: Sequence[str]) -> str:
        raise NotImplementedError

    def token_id(self, symbol: str) -> int:
        """The id of one symbol; a symbol outside the vocabulary raises ``ValueError`` naming it."""
        try:
            return self._ids[symbol]
        except KeyError:
            raise ValueError(
                f"symbol {symbol!r} is not in the vocabulary of this {type(self).__name__} "
                f"({self.vocab_size - self.num_special} symbols: {_preview(self.tokens[self.num_special :])})"
            ) from None

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, without special tokens."""
        symbols = self.split(text)
        try:
            return [self._ids[symbol] for symbol in symbols]
        except KeyError:  # name the symbol outside the vocabulary
            return [self.token_id(symbol) for symbol in symbols]

    def encode_any(self, text: str) -> list[int]:
        """Token ids of any text, never raising: each symbol the vocabulary lacks (a word for a
        :class:`WordTokenizer`, a character for a :class:`CharTokenizer`; for a :class:`BPETokenizer`, a word with a
        character outside its alphabet) becomes one ``<pad>``, and so does a special token's name written in the
        text (special tokens are never text). The text-level view of an environment reads actions with it."""
        pad = self.pad_id
        return [i if (i := self._ids.get(symbol, pad)) >= self.num_special else pad for symbol in self.split(text)]

    def decode(self, ids: Iterable[int], skip_special: bool = True) -> str:
        """The text of ``ids``. Special tokens are dropped unless ``skip_special`` is False, in which case they
        appear by name (``<pad>``, ...). An id outside ``[0, vocab_size)`` raises ``ValueError``."""
        symbols = []
        for i in ids:
            i = int(i)
            if not 0 <= i < self.vocab_size:
                raise ValueError(f"token id {i} is outside the vocabulary [0, {self.vocab_size})")
            if i < self.num_special and skip_special:
                continue
            symbols.append(self.tokens[i])
        return self.join(symbols)

    def decode_batch(self, ids: np.ndarray, lengths: np.ndarray, skip_special: bool = True) -> np.ndarray:
        """:meth:`decode` of many id sequences: row ``k``'s first ``lengths[k]`` ids of ``ids`` (an integer array
        ``(N, W)``); returns an object array ``(N,)`` of texts."""
        texts = (self.decode(row[:n], skip_special) for row, n in zip(ids.tolist(), lengths.tolist()))
        return np.fromiter(texts, dtype=object, count=len(ids))

    def decode_padded_batch(self, ids: np.ndarray) -> np.ndarray:
        """The texts of rows of symbol ids (as :meth:`encode` gives them) followed by ``<pad>`` s, unchecked: for
        texts a task already encoded (an :class:`~textgym.examples.ExampleBatch` holds them so)."""
        return self.decode_batch(ids, np.add.reduce(ids != self.pad_id, axis=1))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(vocab_size={self.vocab_size}, symbols={_preview(self.tokens[self.num_special :])})"
        )


class CharTokenizer(Tokenizer):
    """One token per character. ``symbols`` is a string or sequence of single characters."""

    def __init__(self, symbols: Iterable[str]) -> None:
        symbols = tuple(symbols)
        for symbol in symbols:
            if len(symbol) != 1 or symbol == "\0":
                raise ValueError(f"CharTokenizer symbols must be single characters other than NUL, got {symbol!r}")
        super().__init__(symbols)
        self.code_points = np.array([0] * self.num_special + [ord(symbol) for symbol in symbols], dtype="<u4")
        """The code point of each id's character (0 for the special tokens, which have none)."""
        self._decode_table = np.append(self.code_points, np.uint32(0))  # clipped ids >= vocab_size land on a 0

    def decode_batch(self, ids: np.ndarray, lengths: np.ndarray, skip_special: bool = True) -> np.ndarray:
        code_points = self._code_points_of(ids, lengths)
        plain = np.add.reduce(code_points > 0, axis=1) == lengths  # no special token or bad id inside
        if not plain.all():  # those rows one by one (a bad id raises there, naming it)
            texts = np.empty(len(ids), dtype=object)
            texts[~plain] = super().decode_batch(ids[~plain], lengths[~plain], skip_special)
            texts[plain] = _strings(code_points[plain])
            return texts
        return _strings(code_points)

    def decode_padded_batch(self, ids: np.ndarray) -> np.ndarray:
        return _strings(self.code_points[ids])  # <pad> has code point 0, which ends the text

    def _code_points_of(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """uint32 code points of the characters of ``ids``: 0 past each row's length, for special tokens and for
        ids outside the vocabulary (clipped onto the table's two 0 ends)."""
        table = self._decode_table
        return np.take(table, ids, mode="clip") * (np.arange(ids.shape[1]) < lengths[:, None])

    def split(self, text: str) -> list[str]:
        return list(text)

    def join(self, symbols: Sequence[str]) -> str:
        return "".join(symbols)


class WordTokenizer(Tokenizer):
    """One token per whitespace-separated word; decoding joins words with single spaces."""

    def __init__(self, symbols: Iterable[str]) -> None:
        symbols = tuple(symbols)
        for symbol in symbols:
            if not symbol or any(c.isspace() for c in symbol):
                raise ValueError(f"WordTokenizer symbols must be non-empty words without spaces, got {symbol!r}")
        super().__init__(symbols)

    def split(self, text: str) -> list[str]:
        return text.split()

    def join(self, symbols: Sequence[str]) -> str:
        return " ".join(symbols)


METASPACE = "\u2581"  # "▁", marks the first piece of a word (SentencePiece's convention)
BPE_FORMAT = 1  # bump when the way a BPE tokenizer is trained changes, so that old cache files are not reused


class BPETokenizer(Tokenizer):
    """Byte-pair encoding learned with the ``tokenizers`` library.

    A text is split on whitespace and each word is encoded on its own, its first piece marked with ``▁``, so the
    tokens of a text are the tokens of its words in order and decoding restores single spaces between words.
    Special tokens keep their ids (0, 1, 2). A character outside the learned alphabet raises ``ValueError``
    naming it (the library alone would drop it silently).

    Build one with :meth:`train`, or with :meth:`cached` to train once per corpus and vocabulary size and load the
    result from disk afterwards.

    Args:
        model: a trained ``tokenizers.Tokenizer`` whose first ids are the special tokens.
    """

    def __init__(self, model: tokenizers.Tokenizer) -> None:
        vocab = model.get_vocab(with_added_tokens=True)
        tokens = sorted(vocab, key=vocab.__getitem__)
        if tuple(tokens[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(f"a BPE model must start with the special tokens {SPECIAL_TOKENS}, got {tokens[:3]}")
        super().__init__(tokens[len(SPECIAL_TOKENS) :])
        self.model = model
        self.alphabet = frozenset(token for token in self.tokens[self.num_special :] if len(token) == 1) - {METASPACE}

    @classmethod
    def train(cls, corpus: Iterable[str], vocab_size: int) -> BPETokenizer:
        """Learn merges from ``corpus`` (texts) until the vocabulary, special tokens included, has ``vocab_size``
        ids or no pair is left to merge. The same corpus and size give the same tokenizer."""
        model = tokenizers.Tokenizer(tokenizers.models.BPE())
        model.pre_tokenizer = tokenizers.pre_tokenizers.Sequence(
            [
                tokenizers.pre_tokenizers.WhitespaceSplit(),
                tokenizers.pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always"),
            ]
        )
        model.decoder = tokenizers.decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
        trainer = tokenizers.trainers.BpeTrainer(
            vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), show_progress=False
        )
        model.train_from_iterator(corpus, trainer)
        return cls(model)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> BPETokenizer:
        """Load a Hugging Face ``tokenizers`` JSON file (``tokenizers.Tokenizer.save``), as :meth:`train` writes
        them: its first ids must be the special tokens, and it must split texts on whitespace before encoding words,
        so that a text's tokens are its words' tokens. An unreadable file raises ``ValueError`` naming it."""
        try:
            model = tokenizers.Tokenizer.from_file(str(path))
        except Exception as error:  # the library raises a bare Exception for a missing or malformed file
            raise ValueError(f"cannot read the tokenizer file {str(path)!r}: {error}") from None
        try:
            return cls(model)
        except ValueError as error:
            raise ValueError(f"tokenizer file {str(path)!r}: {error}") from None

    @classmethod
    def cached(cls, corpus: Sequence[str], vocab_size: int, directory: Path | None = None) -> BPETokenizer:
        """:meth:`train` on ``corpus``, or load the result of an earlier identical call from ``directory``.

        The cache file is named by a hash of the corpus, the vocabulary size and the ``tokenizers`` version, so a
        changed corpus never reuses a stale tokenizer; a missing or unreadable file is trained again and written
        atomically. ``directory`` defaults to :func:`cache_dir`.
        """
        key = hashlib.sha256(
            "\n".join([f"textgym-bpe-{BPE_FORMAT}", str(vocab_size), tokenizers.__version__, *corpus]).encode("utf-8")
        ).hexdigest()
        path = (directory or cache_dir()) / f"bpe-{key[:24]}.json"
        if path.is_file():
            try:
                return cls(tokenizers.Tokenizer.from_file(str(path)))
            except Exception:  # the library raises a bare Exception for an unreadable file; train again below
                pass
        tokenizer = cls.train(corpus, vocab_size)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8") as file:
            file.write(tokenizer.model.to_str())
        os.replace(file.name, path)
        return tokenizer

    def split(self, text: str) -> list[str]:
        for character in text:
            if not character.isspace() and character not in self.alphabet:
                raise ValueError(
                    f"character {character!r} of {text!r} is not in the alphabet of this BPETokenizer "
                    f"({''.join(sorted(self.alphabet))})"
                )
        return self.model.encode(text, add_special_tokens=False).tokens

    def encode_any(self, text: str) -> list[int]:
        ids = []
        for word in text.split():
            try:
                ids += [i if i >= self.num_special else self.pad_id for i in self.encode(word)]
            except ValueError:  # a character outside the alphabet
                ids.append(self.pad_id)
        return ids

    def join(self, symbols: Sequence[str]) -> str:
        return self.model.decoder.decode(list(symbols))


def cache_dir() -> Path:
    """Where textgym caches what it builds (trained BPE tokenizers): ``$TEXTGYM_CACHE_DIR`` if set, else
    ``$XDG_CACHE_HOME/textgym``, else ``~/.cache/textgym``."""
    if os.environ.get("TEXTGYM_CACHE_DIR"):
        return Path(os.environ["TEXTGYM_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "textgym"


def _preview(items: Sequence[str], limit: int = 12) -> str:
    shown = " ".join(items[:limit])
    return shown + (" ..." if len(items) > limit else "")


def _strings(code_points: np.ndarray) -> np.ndarray:
    """Object array of the strings whose characters are the rows of ``code_points`` (0s after the text): each row
    viewed as a numpy unicode string, which numpy makes into ``str`` without the 0s at its end."""
    if code_points.shape[1] == 0:
        return np.full(len(code_points), "", dtype=object)
    rows = np.ascontiguousarray(code_points, dtype="<u4")
    return rows.view(f"<U{rows.shape[1]}").reshape(len(rows)).astype(object)
