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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
        return [self.token_id(symbol) for symbol in self.split(text)]

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

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(vocab_size={self.vocab_size}, symbols={_preview(self.tokens[self.num_special :])})"
        )


class CharTokenizer(Tokenizer):
    """One token per character. ``symbols`` is a string or sequence of single characters."""

    def __init__(self, symbols: Iterable[str]) -> None:
        symbols = tuple(symbols)
        for symbol in symbols:
            if len(symbol) != 1:
                raise ValueError(f"CharTokenizer symbols must be single characters, got {symbol!r}")
        super().__init__(symbols)

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


def _preview(items: Sequence[str], limit: int = 12) -> str:
    shown = " ".join(items[:limit])
    return shown + (" ..." if len(items) > limit else "")
