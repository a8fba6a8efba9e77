"""The official SeqGAN oracle's parameters (``save/target_params_py3.pkl``), read safely.

LantaoYu/SeqGAN ships the oracle LSTM of its synthetic experiment as a pickle: a list of 15
numpy arrays in the order ``target_lstm.py`` reads them (``self.params[0..14]``)::

    g_embeddings (V, E); Wi (E, H), Ui (H, H), bi (H); Wf, Uf, bf; Wog, Uog, bog; Wc, Uc, bc;
    Wo (H, V), bo (V)

(V = 5,000, E = H = 32 there). A pickle can run any callable it names, so it is read by an
unpickler that resolves only the globals that rebuild numpy arrays (``_reconstruct``,
``ndarray``, ``dtype``, ``_frombuffer`` of protocol 5, and ``_codecs.encode`` that protocol-2
pickles use for their bytes);
any other global is refused with one line naming the file. ``encoding="latin1"`` also reads the
Python 2 ``target_params.pkl`` (numpy's advice for Python 2 pickles of arrays).

The mapping into gan_lab.nets.SequenceGenerator needs no transpose: the net keeps the official
layout (``x @ W``, ``h @ U``, ``h @ Wo``) with the four gates side by side in the official
order i, f, o, c~: ``w_input = [Wi | Wf | Wog | Wc]`` (E, 4H), ``w_hidden = [Ui | Uf | Uog |
Uc]`` (H, 4H), ``bias = [bi | bf | bog | bc]`` (4H), ``embedding = g_embeddings``,
``w_out = Wo``, ``b_out = bo``.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

__all__ = ["OFFICIAL_ORDER", "RestrictedUnpickler", "generator_state", "load_target_params"]

OFFICIAL_ORDER = ("g_embeddings", "Wi", "Ui", "bi", "Wf", "Uf", "bf", "Wog", "Uog", "bog",
                  "Wc", "Uc", "bc", "Wo", "bo")

# numpy 1 pickles name numpy.core.multiarray, numpy 2 numpy._core.multiarray: both are read
# with the installed numpy's own function.
try:
    from numpy._core.multiarray import _reconstruct as _RECONSTRUCT
    from numpy._core.numeric import _frombuffer as _FROMBUFFER
except ImportError:  # numpy 1
    from numpy.core.multiarray import _reconstruct as _RECONSTRUCT
    from numpy.core.numeric import _frombuffer as _FROMBUFFER
ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,  # protocol 5
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): __import__("codecs").encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays and refuses every other global (one line naming
    ``source``, the file)."""

    def __init__(self, file: io.BufferedIOBase, source: str) -> None:
        super().__init__(file, encoding="latin1")
        self.source = source

    def find_class(self, module: str, name: str):
        found = ALLOWED.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(
                f"{self.source}: refused to load the global {module}.{name} (only numpy arrays "
                "may be read from an oracle's parameter file)")
        return found


def load_target_params(path: str | Path) -> list[np.ndarray]:
    """The 15 arrays of an official ``target_params`` pickle, checked for their count, their
    dimensions and their consistent shapes (one-line ValueError naming the file otherwise)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"data.oracle_params={str(path)!r}: no such file (the official "
                         "save/target_params_py3.pkl of LantaoYu/SeqGAN)")
    try:
        with path.open("rb") as handle:
            params = RestrictedUnpickler(handle, str(path)).load()
    except pickle.UnpicklingError as error:
        raise ValueError(str(error)) from None
    except Exception as error:  # a truncated or foreign file
        raise ValueError(f"{path}: not a readable pickle ({type(error).__name__}: {error})") from None
    if not isinstance(params, list | tuple) or len(params) != len(OFFICIAL_ORDER) or not all(
            isinstance(p, np.ndarray) for p in params):
        raise ValueError(f"{path}: expected a list of {len(OFFICIAL_ORDER)} numpy arrays "
                         f"({', '.join(OFFICIAL_ORDER)}), got {_describe(params)}")
    vocab, embed = _shape(path, params, 0, 2)
    hidden = _shape(path, params, 2, 2)[0]
    expected = {"g_embeddings": (vocab, embed), "Wo": (hidden, vocab), "bo": (vocab,)}
    for gate in ("i", "f", "og", "c"):
        expected.update({f"W{gate}": (embed, hidden), f"U{gate}": (hidden, hidden),
                         f"b{gate}": (hidden,)})
    for name, array in zip(OFFICIAL_ORDER, params, strict=True):
        if tuple(array.shape) != expected[name] or not np.issubdtype(array.dtype, np.floating):
            raise ValueError(f"{path}: {name} is {array.dtype} {tuple(array.shape)}, expected "
                             f"floats of shape {expected[name]} (V={vocab}, E={embed}, H={hidden})")
    return [np.asarray(p) for p in params]


def _shape(path: Path, params: list, index: int, dims: int) -> tuple[int, ...]:
    shape = tuple(params[index].shape)
    if len(shape) != dims:
        raise ValueError(f"{path}: {OFFICIAL_ORDER[index]} has shape {shape}, expected {dims} "
                         "dimensions")
    return shape


def _describe(value: object) -> str:
    if isinstance(value, list | tuple):
        return f"a {type(value).__name__} of {len(value)} ({', '.join(sorted({type(v).__name__ for v in value}))})"
    return type(value).__name__


def generator_state(params: list[np.ndarray]) -> dict[str, Tensor]:
    """The official arrays (:func:`load_target_params`) as a SequenceGenerator state dict
    (float32): the four gates' matrices side by side in the order i, f, o, c~."""
    named = {name: torch.as_tensor(np.asarray(p, dtype=np.float32))
             for name, p in zip(OFFICIAL_ORDER, params, strict=True)}
    gates = ("i", "f", "og", "c")
    return {
        "embedding": named["g_embeddings"],
        "w_input": torch.cat([named[f"W{g}"] for g in gates], dim=1),
        "w_hidden": torch.cat([named[f"U{g}"] for g in gates], dim=1),
        "bias": torch.cat([named[f"b{g}"] for g in gates]),
        "w_out": named["Wo"],
        "b_out": named["bo"],
    }
