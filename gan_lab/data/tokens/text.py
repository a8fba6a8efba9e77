"""Word-level text as token sequences: a folder of text files (``data=text_folder``) and the
English prose that ships with every Python (``data=python_docs``).

The pipeline (:class:`TextDataModule`), the same for every source:

1. paragraphs: runs of non-blank lines joined by spaces; a line with no letter or digit (an
   underline of ``***`` or ``===``, a fortune file's ``%``) also ends a paragraph;
2. sentences: a paragraph split after ``.``, ``!`` or ``?`` (and closing quotes or brackets)
   where the next word starts with a capital or a digit (:func:`split_sentences`);
3. words (:func:`tokenize`): lowercased; a word is a run of letters and digits, joined through
   inner apostrophes, hyphens and underscores (``don't``, ``read-only``, ``tb_lineno``; outer
   underscores dropped), or a decimal number (``3.11``); ``. , ; : ! ?`` are tokens of their own;
   every other character is dropped. Sentences of fewer than ``min_words`` words are dropped,
   with ``complete_only`` those that do not end in ``. ! ?`` or ``:`` (headings, signatures,
   fragments cut by a code block), and repeated sentences are kept once (a held-out sentence
   never repeats a training one);
4. the held-out split: the sentences in a random order from ``split_seed``, the first
   ``test_fraction`` of them held out;
5. the vocabulary (:func:`build_vocabulary`), from the training sentences only: id 0 ``<eos>``,
   id 1 ``<unk>``, then the ``vocab_size - 2`` most frequent words (ties alphabetical); other
   words become ``<unk>``;
6. ids: each sentence's first ``seq_len`` tokens, then ``<eos>`` up to ``seq_len`` (a longer
   sentence is cut, without an end).

``<eos>`` is id 0, the generator's start token (SeqGAN's ``start_token=0``): a sentence starts
where the one before ended. Samples decode up to their first ``<eos>`` (``decode``).

Sources: ``data=text_folder data.path=DIR`` reads every file matching ``pattern`` (``*.txt``)
under DIR, or DIR itself when it is a file (e.g. Debian's ``fortunes-min`` package:
``data.path=/usr/share/games/fortunes/fortunes``). ``data=python_docs`` reads the prose of
``pydoc_data.topics`` (the standard library's ``pydoc_data`` package, which every Python
installs: the Python Language Reference's topics as ``help("if")`` shows them), without its
indented code and grammar blocks: about 1,500 distinct complete sentences of English on CPython
3.11; no download. The topics change a little with the Python
version, and so do the sentences.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import torch
from torch import Tensor

from gan_lab.data.tokens.base import TokenDataModule, check_count

__all__ = ["END", "PythonDocsDataModule", "TextDataModule", "TextFolderDataModule", "UNKNOWN",
           "build_vocabulary", "encode", "paragraphs", "python_docs_paragraphs",
           "split_sentences", "tokenize"]

END, UNKNOWN = "<eos>", "<unk>"
SPECIALS = (END, UNKNOWN)
PUNCTUATION = ".,;:!?"
ENDINGS = ".!?:"
_WORD = re.compile(r"\d+(?:\.\d+)+|[^\W_]+(?:['’_-]+[^\W_]+)*|[.,;:!?]")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_HAS_WORD = re.compile(r"[^\W_]")


def paragraphs(lines: Iterable[str], skip_indented: bool = False) -> Iterator[str]:
    """Runs of non-blank lines, each joined by single spaces. A line without a letter or digit
    ends a paragraph; ``skip_indented``: so does an indented line, and it is dropped (code)."""
    block: list[str] = []
    for line in lines:
        text = line.strip()
        if not text or not _HAS_WORD.search(text) or (skip_indented and line[:1].isspace()):
            if block:
                yield " ".join(block)
                block = []
            continue
        block.append(text)
    if block:
        yield " ".join(block)


def split_sentences(paragraph: str) -> list[str]:
    """The sentences of a paragraph: split after ``.``, ``!``, ``?`` (and closing quotes or
    brackets) followed by space and a capital, a digit, or an opening quote before one."""
    return [s for s in _SENTENCE_END.split(paragraph) if s.strip()]


def tokenize(sentence: str) -> list[str]:
    """Lowercased words and the punctuation ``. , ; : ! ?`` (see the module's docstring)."""
    return [word.replace("’", "'") for word in _WORD.findall(sentence.lower())]


def build_vocabulary(sentences: Iterable[Sequence[str]], vocab_size: int,
                     key: str = "vocab_size") -> list[str]:
    """``<eos>``, ``<unk>``, then the ``vocab_size - 2`` most frequent words of ``sentences``
    (ties in alphabetical order). One-line ValueError naming ``data.<key>`` when the sentences
    have fewer distinct words."""
    counts = Counter(word for sentence in sentences for word in sentence)
    for special in SPECIALS:
        counts.pop(special, None)
    if len(counts) < vocab_size - len(SPECIALS):
        raise ValueError(f"data.{key}={vocab_size}: the training text has only {len(counts)} "
                         f"distinct words; set data.{key} to at most {len(counts) + len(SPECIALS)} "
                         "(the words plus <eos> and <unk>)")
    ranked = sorted(counts, key=lambda word: (-counts[word], word))
    return [*SPECIALS, *ranked[:vocab_size - len(SPECIALS)]]


def encode(sentences: Sequence[Sequence[str]], vocabulary: Sequence[str], seq_len: int) -> Tensor:
    """Ids (N, seq_len) int64: each sentence's first ``seq_len`` words (``<unk>`` for words
    outside the vocabulary), then ``<eos>`` (id 0) to the end."""
    index = {word: i for i, word in enumerate(vocabulary)}
    unknown, end = index[UNKNOWN], index[END]
    ids = torch.full((len(sentences), seq_len), end, dtype=torch.int64)
    for row, sentence in enumerate(sentences):
        words = [index.get(word, unknown) for word in sentence[:seq_len]]
        ids[row, :len(words)] = torch.tensor(words, dtype=torch.int64)
    return ids


def python_docs_paragraphs() -> list[str]:
    """The prose paragraphs of ``pydoc_data.topics.topics`` (topics in sorted order), without
    their indented blocks (code examples, grammar rules, tables)."""
    from pydoc_data.topics import topics

    return [p for name in sorted(topics)
            for p in paragraphs(topics[name].splitlines(), skip_indented=True)]


class TextDataModule(TokenDataModule):
    """Sentences of text as word ids (see the module's docstring for the pipeline). Subclasses
    give :meth:`read_paragraphs`.

    Args:
        seq_len: tokens per sequence (SeqGAN: 20).
        vocab_size: the vocabulary, ``<eos>`` and ``<unk>`` included.
        test_fraction: share of the sentences held out (``test_tokens``: NLL_test, BLEU).
        min_words: shorter sentences (in words, punctuation not counted) are dropped.
        complete_only: keep only sentences that end in ``. ! ?`` or ``:``.
        split_seed: the held-out split, apart from ``seed``.
        batch_size, seed, num_workers: as every data module (``seed`` shuffles the batches).
        eval_objective: the number ``eval=tokens`` names its objective on this data (there is
            no oracle: ``tokens/nll_test``); conf/eval/tokens.yaml reads it from the data's
            config, so the text yamls carry it.
    """

    end_token = 0
    natural_text = True

    def __init__(self, seq_len: int = 20, vocab_size: int = 5000, test_fraction: float = 0.1,
                 min_words: int = 3, complete_only: bool = True, split_seed: int = 0,
                 batch_size: int = 64, seed: int = 0, num_workers: int = 0,
                 eval_objective: str = "tokens/nll_test") -> None:
        super().__init__(seq_len=seq_len, vocab_size=vocab_size, batch_size=batch_size,
                         seed=seed, num_workers=num_workers)
        if isinstance(test_fraction, bool) or not isinstance(test_fraction, int | float) or not (
                0.0 < float(test_fraction) < 1.0):
            raise ValueError(f"data.test_fraction={test_fraction!r}: must be between 0 and 1")
        self.test_fraction = float(test_fraction)
        self.min_words = check_count("min_words", min_words)
        if not isinstance(complete_only, bool):
            raise ValueError(f"data.complete_only={complete_only!r}: must be true or false")
        self.complete_only = complete_only
        self.eval_objective = str(eval_objective)
        self.split_seed = check_count("split_seed", split_seed, 0)
        self._vocabulary: list[str] | None = None

    def read_paragraphs(self) -> list[str]:
        raise NotImplementedError

    def sentences(self) -> list[list[str]]:
        """Every kept sentence's tokens, in reading order, each once (before the split)."""
        kept: dict[tuple[str, ...], None] = {}
        for paragraph in self.read_paragraphs():
            for sentence in split_sentences(paragraph):
                words = tokenize(sentence)
                if self.complete_only and (not words or words[-1] not in ENDINGS):
                    continue
                if sum(1 for word in words if word not in PUNCTUATION) >= self.min_words:
                    kept.setdefault(tuple(words[:self.seq_len]), None)
        return [list(words) for words in kept]

    def split(self) -> tuple[list[list[str]], list[list[str]]]:
        """(training sentences, held-out sentences): a random order from ``split_seed``, the
        first ``test_fraction`` held out (at least one sentence each)."""
        sentences = self.sentences()
        if len(sentences) < 2:
            raise ValueError(f"data: {self.source()} has {len(sentences)} sentence(s) of "
                             f"{self.min_words}+ words; a training and a held-out set need 2+")
        order = torch.randperm(len(sentences),
                               generator=torch.Generator().manual_seed(self.split_seed)).tolist()
        held = min(max(1, round(self.test_fraction * len(sentences))), len(sentences) - 1)
        return [sentences[i] for i in order[held:]], [sentences[i] for i in order[:held]]

    def make_tokens(self) -> tuple[Tensor, Tensor]:
        train, test = self.split()
        self._vocabulary = build_vocabulary(train, self.vocab_size)
        return (encode(train, self._vocabulary, self.seq_len),
                encode(test, self._vocabulary, self.seq_len))

    @property
    def vocabulary(self) -> list[str]:
        if self._vocabulary is None:
            self.splits()
        return self._vocabulary

    def source(self) -> str:
        """What the text is, for messages."""
        return type(self).__name__


class TextFolderDataModule(TextDataModule):
    """The text files under ``path`` (``pattern``, recursively, in sorted order; UTF-8, bad
    bytes replaced), or the one file ``path``. Other arguments: :class:`TextDataModule`."""

    def __init__(self, path: str, pattern: str = "*.txt", seq_len: int = 20,
                 vocab_size: int = 5000, test_fraction: float = 0.1, min_words: int = 3,
                 complete_only: bool = True, split_seed: int = 0, batch_size: int = 64,
                 seed: int = 0, num_workers: int = 0,
                 eval_objective: str = "tokens/nll_test") -> None:
        super().__init__(seq_len=seq_len, vocab_size=vocab_size, test_fraction=test_fraction,
                         min_words=min_words, complete_only=complete_only,
                         split_seed=split_seed, batch_size=batch_size, seed=seed,
                         num_workers=num_workers, eval_objective=eval_objective)
        self.path = Path(str(path)).expanduser()
        self.pattern = str(pattern)
        if self.path.is_file():
            self.files = [self.path]
        elif self.path.is_dir():
            self.files = sorted(p for p in self.path.rglob(self.pattern) if p.is_file())
            if not self.files:
                raise ValueError(f"data.path={str(path)!r}: no file matches data.pattern="
                                 f"{self.pattern!r} in it (searched recursively)")
        else:
            raise ValueError(f"data.path={str(path)!r} is neither a folder of text files nor a "
                             "text file")

    def read_paragraphs(self) -> list[str]:
        return [p for path in self.files
                for p in paragraphs(path.read_text(encoding="utf-8", errors="replace")
                                    .splitlines())]

    def source(self) -> str:
        return f"data.path={str(self.path)!r}"


class PythonDocsDataModule(TextDataModule):
    """The prose of Python's own ``pydoc_data.topics`` (the Language Reference's topics that
    ``help()`` shows; it ships with every Python, no download): about 1,500 distinct complete
    sentences of technical English on CPython 3.11. Arguments: :class:`TextDataModule`."""

    def read_paragraphs(self) -> list[str]:
        return python_docs_paragraphs()

    def source(self) -> str:
        return "pydoc_data.topics"
