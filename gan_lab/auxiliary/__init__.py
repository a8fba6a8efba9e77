"""Frozen auxiliary nets from one provider: a weights file, the torch hub cache, or trained on
the run's data and cached.

Perceptual nets (VGG19 for content losses), feature extractors (InceptionV3, DINOv2, domain
classifiers), assessors (attribute classifiers) and segmenters are nets that a scheme, a metric
or a tool uses and never trains. Each is described by an :class:`AuxiliarySpec` (its name, the
config option that names its file, how to build it from what the file holds, and where it comes
from) and obtained with :func:`provide`:

- ``weights``: the file the config names; when given, the only place looked;
- ``published``: else a published file in the torch hub cache (``$TORCH_HOME/hub/checkpoints``,
  where torchvision and torch-fidelity keep theirs), fetched from its URL first when
  ``download`` is on;
- ``trained``: or a net trained on the run's data and cached in a file the caller keys by the
  data and the settings (``~/.cache/gan_lab/eval/classifier-<digest>.pt``).

The net comes back in eval mode, without gradients, on the device asked; a scheme keeps it in
``gan_lab.models.frozen.FrozenNets`` so that it never enters a checkpoint. Files are read with
``torch.load(weights_only=True)``: a file that would run code when unpickled is refused. Building
and training leave the global random streams as they were. When a file is missing, one line
names the net, every place looked, where to download it and the option to set, e.g.::

    model.vgg_weights: no VGG19 weights (vgg19-dcbb9e9d.pth) at /data/vgg.pth; download
    https://download.pytorch.org/models/vgg19-dcbb9e9d.pth to
    ~/.cache/torch/hub/checkpoints/vgg19-dcbb9e9d.pth or set model.vgg_weights=FILE

(one line in fact; without a configured file: ``at <the hub file> (the torch hub cache); download
<url> there or ...``). A file that is not what the net reads is ``OPTION: PATH is not a WHAT
(why)``.

This package sits below nets, losses, models, metrics and tools: it imports only torch, the
standard library and :mod:`gan_lab.kinds`.
"""

from gan_lab.auxiliary.provider import (
    AuxiliarySpec,
    Published,
    Trained,
    atomic_save,
    file_identity,
    hub_path,
    locate,
    provide,
    unreadable,
)

__all__ = ["AuxiliarySpec", "Published", "Trained", "atomic_save", "file_identity", "hub_path",
           "locate", "provide", "unreadable"]
