"""Token-sequence data (issue 23): SeqGAN's oracle (data=oracle_lstm), the official oracle's
parameter file through the restricted unpickler, and word-level text (data=text_folder,
data=python_docs)."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from gan_lab.data import OracleLSTMDataModule, PythonDocsDataModule, TextFolderDataModule
from gan_lab.data.tokens.base import pseudo_words
from gan_lab.data.tokens.target_params import OFFICIAL_ORDER, load_target_params
from gan_lab.data.tokens.text import (
    build_vocabulary,
    encode,
    paragraphs,
    split_sentences,
    tokenize,
)
from gan_lab.kinds import BatchKind, SampleKind, batch_kind, sample_spec
from tests.conftest import make_cfg

SMALL = {"num_train": 96, "num_test": 64, "vocab_size": 50, "seq_len": 8, "embed_dim": 6,
         "hidden_dim": 5, "batch_size": 16}


def small_oracle(**changes) -> OracleLSTMDataModule:
    return OracleLSTMDataModule(**{**SMALL, **changes})


# --------------------------------------------------------------------------- the oracle
def test_oracle_batches_and_sample_spec():
    data = small_oracle()
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    assert isinstance(batch, list | tuple) and len(batch) == 1
    assert batch[0].shape == (16, 8) and batch[0].dtype == torch.int64
    assert data.train_tokens.shape == (96, 8) and data.test_tokens.shape == (64, 8)
    assert 0 <= int(data.train_tokens.min()) and int(data.train_tokens.max()) < 50
    assert batch_kind(data) is BatchKind.TOKEN_SEQUENCES and data.num_train == 96
    spec = sample_spec(data)
    assert (spec.kind, spec.shape, spec.dtype, spec.vocab_size) == (SampleKind.TOKENS, (8,),
                                                                    "int64", 50)
    assert spec.extras["vocabulary"] == pseudo_words(50) and "end_token" not in spec.extras
    assert len(data.test_set) == 64 and data.test_set[0][0].shape == (8,)
    # the spec survives a checkpoint's round trip
    assert type(spec).from_dict(spec.as_dict()) == spec


def test_oracle_is_frozen_n01_from_its_own_seed_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    data = OracleLSTMDataModule(num_train=64, num_test=0)  # the paper's shape: 5,000 x 32 x 32
    oracle = data.oracle
    assert torch.equal(torch.rand(3), expected)
    values = torch.cat([p.flatten() for p in oracle.parameters()])
    assert not any(p.requires_grad for p in oracle.parameters()) and not oracle.training
    assert abs(float(values.mean())) < 0.01 and abs(float(values.std()) - 1.0) < 0.01
    assert (oracle.vocab_size, oracle.embed_dim, oracle.hidden_dim, oracle.seq_len) == (5000, 32,
                                                                                        32, 20)
    same = OracleLSTMDataModule(num_train=64, num_test=0).oracle
    other = OracleLSTMDataModule(num_train=64, num_test=0, oracle_seed=1).oracle
    assert torch.equal(same.w_out, oracle.w_out) and not torch.equal(other.w_out, oracle.w_out)


def test_oracle_sequences_are_a_function_of_the_seeds_on_disjoint_streams():
    first, again = small_oracle(), small_oracle(seed=7)  # the run's seed only shuffles
    assert torch.equal(first.train_tokens, again.train_tokens)
    assert torch.equal(first.test_tokens, again.test_tokens)
    # the held-out stream is its own: no training sequence reappears there, and the number of
    # training sequences does not move it
    train = {tuple(row) for row in first.train_tokens.tolist()}
    assert not train & {tuple(row) for row in first.test_tokens.tolist()}
    assert torch.equal(small_oracle(num_train=32).test_tokens, first.test_tokens)
    # another data seed: other sequences from the same oracle
    moved = small_oracle(data_seed=1)
    assert torch.equal(moved.oracle.embedding, first.oracle.embedding)
    assert not torch.equal(moved.train_tokens, first.train_tokens)
    # the loader's shuffling follows the run's seed
    batches = [next(iter(d.train_dataloader()))[0] for d in (first, small_oracle(), again)]
    assert torch.equal(batches[0], batches[1]) and not torch.equal(batches[0], batches[2])


def test_oracle_samples_follow_the_oracle():
    """The training sequences are the oracle's: its NLL of them is far below that of uniform
    ids (log V) and below that of another oracle."""
    data = small_oracle(num_train=512)
    with torch.no_grad():
        own = float(data.oracle.nll(data.train_tokens))
        uniform = float(data.oracle.nll(torch.randint(50, (512, 8),
                                                      generator=torch.Generator().manual_seed(0))))
        stranger = float(small_oracle(oracle_seed=3).oracle.nll(data.train_tokens))
    assert own < uniform - 0.5 and own < stranger


def test_oracle_settings_are_checked_in_one_line():
    with pytest.raises(ValueError, match=r"^data.num_train=0: must be an integer >= 1$"):
        small_oracle(num_train=0)
    with pytest.raises(ValueError, match=r"^data.batch_size=128: larger than data.num_train=96"):
        small_oracle(batch_size=128)
    with pytest.raises(ValueError, match=r"^data.start_token=50: must be an id below"):
        small_oracle(start_token=50)


def test_pseudo_words_are_distinct_and_deterministic():
    words = pseudo_words(5000)
    assert len(set(words)) == 5000 and words[:2] == ["baba", "babe"] and words[-1] == "nuqu"
    assert pseudo_words(5000) == words and len(set(pseudo_words(20_000))) == 20_000
    assert all(len(w) == 6 for w in pseudo_words(20_000)[10_000:])


# --------------------------------------------------------------------------- official parameters
V, E, H, T = 7, 3, 4, 5


def official_arrays(seed: int = 0) -> list[np.ndarray]:
    """Small stand-ins for target_params_py3.pkl, in the official order and shapes."""
    rng = np.random.default_rng(seed)
    shapes = {"g_embeddings": (V, E), "Wo": (H, V), "bo": (V,)}
    for gate in ("i", "f", "og", "c"):
        shapes.update({f"W{gate}": (E, H), f"U{gate}": (H, H), f"b{gate}": (H,)})
    return [rng.normal(size=shapes[name]).astype(np.float32) for name in OFFICIAL_ORDER]


def official_logits(p: dict[str, np.ndarray], tokens: np.ndarray, start: int = 0) -> np.ndarray:
    """target_lstm.py's teacher-forced logits, by hand: step t reads the start token, then
    token t-1, through the official cell."""
    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    out = np.zeros((*tokens.shape, V))
    for b, row in enumerate(tokens):
        h, c = np.zeros(H), np.zeros(H)
        for t in range(len(row)):
            x = p["g_embeddings"][start if t == 0 else row[t - 1]]
            i = sigmoid(x @ p["Wi"] + h @ p["Ui"] + p["bi"])
            f = sigmoid(x @ p["Wf"] + h @ p["Uf"] + p["bf"])
            o = sigmoid(x @ p["Wog"] + h @ p["Uog"] + p["bog"])
            c = f * c + i * np.tanh(x @ p["Wc"] + h @ p["Uc"] + p["bc"])
            h = o * np.tanh(c)
            out[b, t] = h @ p["Wo"] + p["bo"]
    return out


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_official_oracle_parameters_load_into_the_net(tmp_path, protocol):
    arrays = official_arrays()
    path = tmp_path / "target_params_py3.pkl"
    path.write_bytes(pickle.dumps(arrays, protocol=protocol))
    loaded = load_target_params(path)
    assert all(np.array_equal(a, b) for a, b in zip(loaded, arrays, strict=True))
    data = OracleLSTMDataModule(num_train=16, num_test=4, vocab_size=V, seq_len=T, embed_dim=E,
                                hidden_dim=H, oracle_params=str(path), batch_size=4)
    tokens = torch.randint(V, (3, T), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits = data.oracle(tokens).double().numpy()
    expected = official_logits(dict(zip(OFFICIAL_ORDER, arrays, strict=True)), tokens.numpy())
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5)
    assert data.train_tokens.shape == (16, T)


def test_a_parameter_file_with_another_global_is_refused_unrun(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps([Payload()]))
    with pytest.raises(ValueError, match=rf"^{path}: refused to load the global posix.system "
                                         r"\(only numpy arrays"):
        load_target_params(path)
    assert not marker.exists()
    with pytest.raises(ValueError, match=r"evil.pkl: refused"):
        OracleLSTMDataModule(num_train=16, vocab_size=V, seq_len=T, embed_dim=E, hidden_dim=H,
                             oracle_params=str(path), batch_size=4).setup("fit")


def test_parameter_files_of_the_wrong_shape_are_one_line_errors(tmp_path):
    arrays = official_arrays()
    short = tmp_path / "short.pkl"
    short.write_bytes(pickle.dumps(arrays[:14]))
    with pytest.raises(ValueError, match=r"short.pkl: expected a list of 15 numpy arrays"):
        load_target_params(short)
    bent = tmp_path / "bent.pkl"
    bent.write_bytes(pickle.dumps(arrays[:5] + [arrays[5].T[:, :2]] + arrays[6:]))
    with pytest.raises(ValueError, match=r"bent.pkl: Uf is float32 \(4, 2\), expected floats "
                                         r"of shape \(4, 4\)"):
        load_target_params(bent)
    good = tmp_path / "good.pkl"
    good.write_bytes(pickle.dumps(arrays))
    with pytest.raises(ValueError, match=r"make an oracle of vocabulary 7, embedding 3, hidden 4; "
                                         r"set data.vocab_size"):
        OracleLSTMDataModule(num_train=16, vocab_size=9, seq_len=T, embed_dim=E, hidden_dim=H,
                             oracle_params=str(good), batch_size=4).setup("fit")
    with pytest.raises(ValueError, match=r"^data.oracle_params='/no/such.pkl': no such file"):
        load_target_params("/no/such.pkl")


# --------------------------------------------------------------------------- text
def test_tokenizer_sentences_and_paragraphs():
    assert tokenize("Don't panic, it's READ-ONLY: tb_lineno is 3.11!  (__dir__) “ok”") == [
        "don't", "panic", ",", "it's", "read-only", ":", "tb_lineno", "is", "3.11", "!", "dir",
        "ok"]
    assert split_sentences('It ends. "Then" another? yes. 3 more... i.e. not here') == [
        "It ends.", '"Then" another? yes.', "3 more... i.e. not here"]
    lines = ["First line", "goes on.", "%", "Second.", "", "   code = 1", "Third"]
    assert list(paragraphs(lines)) == ["First line goes on.", "Second.", "code = 1 Third"]
    assert list(paragraphs(lines, skip_indented=True)) == ["First line goes on.", "Second.",
                                                           "Third"]


def test_vocabulary_cap_and_encoding():
    sentences = [["b", "a", "."], ["a", "c", "b", "."], ["a", "d"]]
    # a: 3, b: 2, then ". " (2) and the ties c, d (1) alphabetically
    assert build_vocabulary(sentences, 7) == ["<eos>", "<unk>", "a", ".", "b", "c", "d"]
    assert build_vocabulary(sentences, 4) == ["<eos>", "<unk>", "a", "."]
    with pytest.raises(ValueError, match=r"^data.vocab_size=8: the training text has only 5 "
                                         r"distinct words; set data.vocab_size to at most 7"):
        build_vocabulary(sentences, 8)
    vocabulary = build_vocabulary(sentences, 4)
    ids = encode([["a", ".", "zebra"], ["a", "a", "a", "a", "a", "a"]], vocabulary, 5)
    assert ids.tolist() == [[2, 3, 1, 0, 0], [2, 2, 2, 2, 2]] and ids.dtype == torch.int64


def write_corpus(folder, files: int = 3) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    words = "cat dog bird fish sat ran saw ate the a small big red old".split()
    rng = np.random.default_rng(0)
    for k in range(files):
        lines = []
        for _ in range(40):
            sentence = " ".join(rng.choice(words, size=int(rng.integers(3, 12))))
            lines.append(sentence.capitalize() + rng.choice([".", "!", "?"]))
        (folder / f"part{k}.txt").write_text(" ".join(lines[:20]) + "\n\n" + "\n".join(lines[20:]))
    (folder / "notes.md").write_text("Ignored words here.")


def test_text_folder_splits_caps_and_decodes(tmp_path):
    write_corpus(tmp_path / "corpus")
    data = TextFolderDataModule(str(tmp_path / "corpus"), seq_len=8, vocab_size=10,
                                batch_size=8, test_fraction=0.25)
    data.setup("fit")
    assert [p.name for p in data.files] == ["part0.txt", "part1.txt", "part2.txt"]
    assert len(data.vocabulary) == 10 and data.vocabulary[:2] == ["<eos>", "<unk>"]
    train, test = data.train_tokens, data.test_tokens
    assert train.shape[1] == test.shape[1] == 8 and train.dtype == torch.int64
    total = len(train) + len(test)
    assert len(test) == round(0.25 * total) and int(train.max()) < 10
    assert not {tuple(r) for r in train.tolist()} & {tuple(r) for r in test.tolist()}
    assert (train == 1).any()  # words beyond the cap are <unk>
    spec = data.sample_spec
    assert spec.extras == {"vocabulary": data.vocabulary, "end_token": 0}
    assert spec.vocab_size == 10 and spec.shape == (8,)
    # decoding stops at the first <eos>; a sentence cut at seq_len has none
    decoded = data.decode(torch.tensor([[2, 3, 0, 4, 4, 0, 0, 0], [2] * 8]))
    assert decoded == [[data.vocabulary[2], data.vocabulary[3]], [data.vocabulary[2]] * 8]
    batch = next(iter(data.train_dataloader()))
    assert batch[0].shape == (8, 8)
    again = TextFolderDataModule(str(tmp_path / "corpus"), seq_len=8, vocab_size=10,
                                 batch_size=8, test_fraction=0.25, seed=3)
    assert torch.equal(again.train_tokens, train) and torch.equal(again.test_tokens, test)
    moved = TextFolderDataModule(str(tmp_path / "corpus"), seq_len=8, vocab_size=10,
                                 batch_size=8, test_fraction=0.25, split_seed=1)
    assert not torch.equal(moved.test_tokens, test)
    one = TextFolderDataModule(str(tmp_path / "corpus" / "part0.txt"), seq_len=8, vocab_size=10,
                               batch_size=4)
    assert one.files == [tmp_path / "corpus" / "part0.txt"] and one.num_train > 4


def test_text_folder_errors_are_one_line(tmp_path):
    with pytest.raises(ValueError, match=r"^data.path='/no/such' is neither a folder"):
        TextFolderDataModule("/no/such")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no file matches data.pattern='\*.txt'"):
        TextFolderDataModule(str(tmp_path / "empty"))
    write_corpus(tmp_path / "corpus", files=1)
    with pytest.raises(ValueError, match=r"^data.vocab_size=5000: the training text has only"):
        TextFolderDataModule(str(tmp_path / "corpus"), batch_size=4).setup("fit")
    with pytest.raises(ValueError, match=r"^data.test_fraction=1.5: must be between 0 and 1$"):
        TextFolderDataModule(str(tmp_path / "corpus"), test_fraction=1.5)


def test_python_docs_is_english_that_ships_with_python():
    cfg = make_cfg("/tmp/run", "data=python_docs")
    data = instantiate(cfg.data)
    assert isinstance(data, PythonDocsDataModule) and data.vocab_size == 1500
    data.setup("fit")
    assert data.num_train > 1000 and len(data.test_tokens) > 100
    assert len(data.sample_spec.extras["vocabulary"]) == 1500
    words = [w for sentence in data.decode(data.train_tokens) for w in sentence]
    for common in ("the", "is", "a", "object", "function", "."):
        assert common in data.vocabulary and common in words
    unknown = sum(w == "<unk>" for w in words) / len(words)
    assert unknown < 0.05
    # complete sentences: each ends in . ! ? : unless it was cut at seq_len
    ends = [s[-1] for s in data.decode(data.train_tokens) if len(s) < data.seq_len]
    assert ends and all(end in ".!?:" for end in ends)


def test_token_data_configs_compose():
    oracle = make_cfg("/tmp/run", "data=oracle_lstm", "seed=5").data
    assert oracle.num_train == oracle.num_test == 10000 and oracle.vocab_size == 5000
    assert (oracle.seq_len, oracle.batch_size, oracle.seed, oracle.oracle_seed) == (20, 64, 5, 0)
    data = instantiate(make_cfg("/tmp/run", "data=oracle_lstm", "data.num_train=64",
                                "data.num_test=8", "data.vocab_size=30").data)
    assert isinstance(data, OracleLSTMDataModule) and data.train_tokens.shape == (64, 20)
    folder = make_cfg("/tmp/run", "data=text_folder", "data.path=/tmp").data
    assert folder._target_.endswith("TextFolderDataModule") and folder.pattern == "*.txt"
