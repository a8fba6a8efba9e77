"""``tokens``: (N, L) integer token ids as text, one line per sequence. With
``options["vocabulary"]`` (a list of words, index = id) the ids are written as words, joined by
``options.get("separator", " ")``; without one, as numbers. An id outside the vocabulary is
written as ``<id>``. With ``options["end_token"]`` a sequence ends before its first end token
(the padding of text data is not written)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from gan_lab.kinds import SampleKind
from gan_lab.outputs.base import TextOutput, register_renderer
from gan_lab.visuals import Visual


def _example() -> Visual:
    ids = torch.tensor([[0, 1, 2, 3], [3, 2, 1, 4]])
    return Visual(SampleKind.TOKENS, ids, options={"vocabulary": ["the", "cat", "sat", "down"]})


@register_renderer(SampleKind.TOKENS, example=_example)
def render_tokens(visual: Visual) -> TextOutput:
    ids = visual.data.detach().cpu()
    if ids.dim() == 1:
        ids = ids[None]
    if ids.dim() != 2 or ids.is_floating_point() or ids.is_complex():
        raise ValueError(f"a 'tokens' visual needs integer ids (N, L), got {ids.dtype} "
                         f"{tuple(ids.shape)}")
    vocabulary: Sequence[str] | None = visual.options.get("vocabulary")
    separator = str(visual.options.get("separator", " "))
    end = visual.options.get("end_token")
    lines = []
    for sequence in ids.tolist():
        if end is not None and end in sequence:
            sequence = sequence[:sequence.index(end)]
        if vocabulary is None:
            words = [str(i) for i in sequence]
        else:
            words = [str(vocabulary[i]) if 0 <= i < len(vocabulary) else f"<{i}>"
                     for i in sequence]
        lines.append(separator.join(words))
    return TextOutput("\n".join(lines) + "\n")
