"""Fashion-MNIST (Xiao et al. 2017): 60,000 + 10,000 28x28 grey-scale images of clothes.

The same format as MNIST: four gzipped IDX files, read with numpy
(:func:`gan_lab.data.samples.torchvision_sets.read_idx`; magic numbers, dimensions and lengths are
checked, and a corrupt or truncated file raises a ``ValueError`` naming it). They are looked for:

1. with ``data.root`` given: directly in it, or in ``<root>/FashionMNIST/raw/`` (torchvision's
   layout); only there, and a download goes there;
2. without it: in ``/usr/share/datasets/fashion-mnist/``, where Debian's ``dataset-fashion-mnist``
   package installs them (``make fashion-mnist``), then in ``~/.cache/gan_lab/fashion_mnist``
   (and its ``FashionMNIST/raw/``), where a download goes.

When they are in none of these, torchvision downloads them (``data.download=true``); when that
fails, a one-line ``ValueError`` says where they were looked for and how to provide them.
"""

from __future__ import annotations

from pathlib import Path

from gan_lab.data.samples.torchvision_sets import IdxDataModule

__all__ = ["DEBIAN_FOLDER", "FashionMNISTDataModule"]

# Where `apt-get install dataset-fashion-mnist` puts the four .gz files (checked with dpkg -c).
DEBIAN_FOLDER = Path("/usr/share/datasets/fashion-mnist")


class FashionMNISTDataModule(IdxDataModule):
    """Fashion-MNIST as an in-memory ``TensorDataset`` of ``(images, labels)``.

    Images are float32 ``(N, 1, S, S)`` in ``[-1, 1]`` (resized from 28x28 when
    ``image_size != 28``), labels int64 in 0..9 (T-shirt/top, trouser, pullover, dress, coat,
    sandal, shirt, sneaker, bag, ankle boot). Arguments as for
    :class:`~gan_lab.data.samples.torchvision_sets.StandardImageDataModule`; ``channels`` must be 1.
    """

    title = "Fashion-MNIST"
    cache_name = "fashion_mnist"
    torchvision_name = "FashionMNIST"
    raw_folder = "FashionMNIST"
    source = (
        f"`make fashion-mnist` installs them in {DEBIAN_FOLDER}, used when data.root is null; "
        "or get them from http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
    )

    def default_folders(self) -> list[Path]:
        return [DEBIAN_FOLDER]
