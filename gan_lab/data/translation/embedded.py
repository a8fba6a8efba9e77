"""Two small translation sets made from scikit-learn's bundled digits: no download, CPU-sized.

They exist so that ``model=pix2pix`` and ``model=cyclegan`` have defaults that train in minutes
on a laptop CPU, while keeping what makes the papers' tasks interesting:

- ``edges2digits`` (paired, like pix2pix's edges2shoes): A is a thin black outline of the digit
  on white (the gradient magnitude of its stroke, thresholded softly, grey), B the digit painted
  in one of six saturated ink colours on white. The colour is drawn per image by a fixed-seed
  generator, independent of the digit, so it cannot be predicted from the outline: the mapping is
  multimodal, as in the paper's colourisation-like tasks: the L1-optimal output is the
  palette's mean, a dull grey-mauve, and only an adversarial loss rewards committing to one
  ink. The digit labels give a semantic score like the paper's FCN score: a classifier trained
  on real B images judges translated ones (:meth:`class_view`, :meth:`eval_labels`).
- ``chalk2ink`` (unpaired, like CycleGAN's style transfers): A is the digit in white chalk (with a
  faint fixed grain) on a dark slate board, B the same digit in dark blue ink on cream paper with
  a slightly thicker stroke. The two domains train on disjoint digit instances (the training
  split's halves), so no pair is ever seen; the test split keeps both renderings of the same
  digits, so evaluation has ground truth (``eval_paired``). B is a deterministic function of the
  digit (:func:`render_ink`), A as well (:func:`render_chalk`).

Every image starts from the 8x8 digit (intensities 0..16) with a one-pixel margin, upsampled to
``image_size`` with bicubic interpolation (:func:`digit_intensity`) and sharpened by a smoothstep
into an antialiased stroke mask in ``[0, 1]`` (:func:`strokes`). The train/test split is fixed
(90/10, by a fixed-seed permutation, the same for every ``data.seed``). Images are float32 in
``[-1, 1]``.

Augmentation (off by default: digits must not be mirrored, and the sets are aligned already):
``flip`` mirrors, ``jitter`` shifts by up to that many pixels; both are drawn per item from
generators keyed by the loader's epoch indices, as in :mod:`gan_lab.data.translation.base`, the same
shift and flip for both images of a pair.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset
from torchvision.transforms.v2 import functional as TF

from gan_lab.data.common.labelled_view import LabelledView
from gan_lab.data.common.option_checks import check_bool, check_int
from gan_lab.data.samples.digits import NUM_DIGITS, load_digit_tensors
from gan_lab.data.translation.base import TranslationDataModule
from gan_lab.data.translation.sampling import (
    item_generator,
    paired_epoch_indices,
    split_paired_index,
    split_unpaired_index,
    unpaired_epoch_indices,
)

__all__ = [
    "Chalk2InkDataModule",
    "DigitTranslationDataModule",
    "Edges2DigitsDataModule",
    "PairedTensorSet",
    "UnpairedTensorSet",
    "digit_intensity",
    "digit_split",
    "render_chalk",
    "render_colour",
    "render_edges",
    "render_ink",
    "strokes",
]

NUM_TEST = 180  # 10% of the 1,797 digits
SPLIT_SEED = 1797  # fixed: the split never depends on data.seed
COLOUR_SEED = 6  # fixed: the ink colour of each edges2digits image

WHITE = (1.0, 1.0, 1.0)
# Six clearly different saturated inks: red, orange, green, teal, blue, purple.
PALETTE = (
    (0.85, 0.10, 0.10),
    (0.95, 0.55, 0.00),
    (0.10, 0.60, 0.15),
    (0.00, 0.55, 0.60),
    (0.10, 0.25, 0.85),
    (0.55, 0.15, 0.70),
)
SLATE = (0.16, 0.20, 0.25)  # a dark blue-grey board
CHALK = (0.94, 0.94, 0.90)
PAPER = (0.97, 0.94, 0.85)  # cream
INK = (0.08, 0.14, 0.45)  # dark blue
STROKE = (0.35, 0.7)  # the smoothstep band of a normal stroke
THICK = (0.15, 0.45)  # a slightly thicker one (ink): about half a pixel more each side at 32


# -- rendering -------------------------------------------------------------------------------


def _smoothstep(values: torch.Tensor, low: float, high: float) -> torch.Tensor:
    t = ((values - low) / (high - low)).clamp(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def digit_intensity(image_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits ``(N, 1, S, S)`` in ``[0, 1]`` (0 = paper, 1 = full ink), and labels.

    The 8x8 digit gets a one-pixel margin (so strokes do not touch the border) and is upsampled
    bicubically to ``image_size``; :func:`strokes` turns this blur into a crisp stroke.
    """
    digits, labels = load_digit_tensors(8)  # (N, 1, 8, 8) in [-1, 1]
    ink = F.pad((digits + 1.0) / 2.0, (1, 1, 1, 1))
    ink = F.interpolate(ink, size=(image_size, image_size), mode="bicubic", align_corners=False)
    return ink.clamp(0.0, 1.0), labels


def strokes(intensity: torch.Tensor, band: tuple[float, float] = STROKE) -> torch.Tensor:
    """A stroke mask in ``[0, 1]``: a smoothstep of ``intensity`` across ``band``.

    Sharp but antialiased edges; a lower band gives a thicker stroke.
    """
    return _smoothstep(intensity, *band)


def _paint(mask: torch.Tensor, background, colour) -> torch.Tensor:
    """``colour`` where ``mask`` is 1, ``background`` where it is 0, scaled to ``[-1, 1]``.

    ``colour`` is one RGB triple or one per image ``(N, 3)``.
    """
    back = torch.tensor(background, dtype=torch.float32).view(1, 3, 1, 1)
    ink = torch.as_tensor(colour, dtype=torch.float32).reshape(-1, 3, 1, 1)
    return (back + (ink - back) * mask) * 2.0 - 1.0


def render_edges(intensity: torch.Tensor) -> torch.Tensor:
    """Thin black outlines of the digits on white, ``(N, 3, S, S)`` (grey: equal channels).

    The Sobel gradient magnitude of the stroke mask, measured per pixel of the 8x8 digit's
    10-pixel frame so that the line width scales with ``image_size``, softly thresholded.
    """
    size = intensity.shape[-1]
    sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
    padded = F.pad(strokes(intensity), (1, 1, 1, 1), mode="replicate")
    gx = F.conv2d(padded, sobel.view(1, 1, 3, 3))
    gy = F.conv2d(padded, sobel.t().reshape(1, 1, 3, 3))
    magnitude = (gx.square() + gy.square()).sqrt() * (size / 10.0)
    edges = _smoothstep(magnitude, 0.5, 1.2)
    return _paint(edges, WHITE, (0.0, 0.0, 0.0))


def ink_colours(count: int) -> torch.Tensor:
    """``(count, 3)`` ink colours from :data:`PALETTE`, drawn with a fixed seed (not the label)."""
    generator = torch.Generator().manual_seed(COLOUR_SEED)
    choice = torch.randint(0, len(PALETTE), (count,), generator=generator)
    return torch.tensor(PALETTE, dtype=torch.float32)[choice]


def render_colour(intensity: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
    """The digits painted with one colour per image on white, ``(N, 3, S, S)``."""
    return _paint(strokes(intensity), WHITE, colours)


def _grain(size: int) -> torch.Tensor:
    """A fixed chalk grain ``(1, 1, S, S)`` in ``[0.8, 1]`` (the same for every image)."""
    generator = torch.Generator().manual_seed(size)
    noise = torch.rand(1, 1, size, size, generator=generator)
    return 0.8 + 0.2 * noise


def render_chalk(intensity: torch.Tensor) -> torch.Tensor:
    """Chalk: the digits in off-white with a faint grain on a dark slate board."""
    return _paint(strokes(intensity) * _grain(intensity.shape[-1]), SLATE, CHALK)


def render_ink(intensity: torch.Tensor) -> torch.Tensor:
    """Ink: the digits with a slightly thicker stroke, in dark blue on cream paper.

    Thickened by a lower threshold rather than a max-pool dilation, which closes the small
    loops of the 8x8 digits (an 8 becomes a blob) and would make the mapping uninvertible.
    """
    return _paint(strokes(intensity, THICK), PAPER, INK)


def digit_split() -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed split of the 1,797 digits: ``(train indices, test indices)``, 1,617 and 180."""
    order = torch.randperm(NUM_DIGITS, generator=torch.Generator().manual_seed(SPLIT_SEED))
    return order[NUM_TEST:].sort().values, order[:NUM_TEST].sort().values


def _channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    if channels == 1 and images.shape[1] == 3:
        return TF.rgb_to_grayscale(images, num_output_channels=1).contiguous()
    return images.contiguous()


# -- augmented tensor sets -------------------------------------------------------------------


class Jitter:
    """Random shifts of up to ``pixels`` (edges replicated) and optional horizontal flips."""

    def __init__(self, pixels: int, flip: bool) -> None:
        self.pixels = pixels
        self.flip = flip

    @property
    def random(self) -> bool:
        return self.pixels > 0 or self.flip

    def draw(self, generator: torch.Generator) -> tuple[int, int, bool]:
        dy = dx = 0
        if self.pixels:
            shift = torch.randint(-self.pixels, self.pixels + 1, (2,), generator=generator)
            dy, dx = shift.tolist()
        flip = self.flip and bool(torch.rand((), generator=generator) < 0.5)
        return dy, dx, flip

    def __call__(self, image: torch.Tensor, move: tuple[int, int, bool]) -> torch.Tensor:
        dy, dx, flip = move
        if dy or dx:
            pad = max(abs(dy), abs(dx))
            height, width = image.shape[-2:]
            padded = F.pad(image[None], (pad, pad, pad, pad), mode="replicate")[0]
            image = padded[:, pad - dy : pad - dy + height, pad - dx : pad - dx + width]
        if flip:
            image = image.flip(-1)
        return image.contiguous()


class PairedTensorSet(TensorDataset):
    """Pairs ``(a, b)`` held in memory; the same jitter for both images of a pair."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor, jitter: Jitter, seed: int) -> None:
        super().__init__(a, b)
        self.jitter = jitter
        self.seed = seed

    def epoch_indices(self, generator: torch.Generator) -> list:
        return paired_epoch_indices(len(self), generator, self.jitter.random)

    def __getitem__(self, index) -> tuple[torch.Tensor, torch.Tensor]:
        k, key = split_paired_index(index, len(self))
        a, b = self.tensors[0][k], self.tensors[1][k]
        if not self.jitter.random:
            return a, b
        move = self.jitter.draw(item_generator(self.seed, *key))
        return self.jitter(a, move), self.jitter(b, move)


class UnpairedTensorSet(TensorDataset):
    """Two domains of different sizes in memory; items ``(A[i], B[j])``, ``len = max(nA, nB)``.

    A ``TensorDataset`` (so it is fingerprinted by its pixels) whose tensors may differ in length.
    """

    def __init__(self, a: torch.Tensor, b: torch.Tensor, jitter: Jitter, seed: int) -> None:
        self.tensors = (a, b)  # no equal-length check: the domains are independent
        self.jitter = jitter
        self.seed = seed

    def __len__(self) -> int:
        return max(len(t) for t in self.tensors)

    def epoch_indices(self, generator: torch.Generator) -> list:
        return unpaired_epoch_indices(len(self.tensors[0]), len(self.tensors[1]), generator)

    def __getitem__(self, index) -> tuple[torch.Tensor, torch.Tensor]:
        i, j = split_unpaired_index(index, len(self.tensors[0]), len(self.tensors[1]))
        a, b = self.tensors[0][i], self.tensors[1][j]
        if not self.jitter.random:
            return a, b
        generator = item_generator(self.seed, i, j)
        move_a = self.jitter.draw(generator)  # A's move first, then B's: independent
        move_b = self.jitter.draw(generator)
        return self.jitter(a, move_a), self.jitter(b, move_b)


# -- the data modules ------------------------------------------------------------------------


class DigitTranslationDataModule(TranslationDataModule):
    """The shared machinery: render all digits, split, swap for BtoA, build sets and views.

    Subclasses say how A and B look (:meth:`render`) and which training digits each domain gets
    (:meth:`train_indices`). All sets are ``TensorDataset``s, built in the constructor (well under
    a second). Attributes beyond the contract: ``test_indices`` and ``train_indices_a`` /
    ``train_indices_b`` (positions in scikit-learn's digit order, for the served domains).

    Args:
        image_size: side of the square images, at least 16.
        batch_size: items per training batch.
        seed: seed of the shuffling (and of the augmentation, when on).
        num_workers: loader worker processes.
        direction: ``"AtoB"``, or ``"BtoA"`` to swap the domains.
        channels_a, channels_b: 3 (RGB), or 1 (converted to grey-scale) for the served domains.
        flip: random horizontal flips of training images (default off: digits are not symmetric).
        jitter: random shifts of training images by up to this many pixels (default 0, off).
    """

    digit_classes = [str(d) for d in range(10)]
    paired_training: bool = True  # whether training batches are aligned pairs (the subclass says)

    def __init__(
        self,
        image_size: int = 32,
        batch_size: int = 16,
        seed: int = 0,
        num_workers: int = 0,
        direction: str = "AtoB",
        channels_a: int = 3,
        channels_b: int = 3,
        flip: bool = False,
        jitter: int = 0,
    ) -> None:
        super().__init__(
            paired=self.paired_training,
            image_size=image_size,
            channels_a=channels_a,
            channels_b=channels_b,
            batch_size=batch_size,
            seed=seed,
            num_workers=num_workers,
            direction=direction,
            eval_paired=True,
        )
        check_int("image_size", image_size, 16)
        self.flip = check_bool("flip", flip)
        self.jitter = check_int("jitter", jitter, 0)
        if jitter > image_size // 4:
            raise ValueError(
                f"data.jitter={jitter}: at most image_size // 4 = {image_size // 4} pixels"
            )
        intensity, labels = digit_intensity(image_size)
        images = self.render(intensity)
        train, self.test_indices = digit_split()
        indices = self.train_indices(train)
        if self.swapped:
            images, indices = images[::-1], indices[::-1]
        images = [
            _channels(x, c) for x, c in zip(images, (self.channels_a, self.channels_b), strict=True)
        ]
        self.train_indices_a, self.train_indices_b = indices
        self._images = images
        self._labels = labels
        augment = Jitter(self.jitter, self.flip)
        make = PairedTensorSet if self.paired_training else UnpairedTensorSet
        self.train_set = make(images[0][indices[0]], images[1][indices[1]], augment, self.seed)
        self._class_view: LabelledView | None = None
        self._check_batch_size()

    def render(self, intensity: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Domains A and B of every digit, ``(N, 3, S, S)`` each, in the data's own roles."""
        raise NotImplementedError

    def train_indices(self, train: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The training digits of A and of B, from the training split ``train``."""
        return train, train

    def describe(self) -> str:
        return type(self).__name__

    def _build_eval_set(self, index: int) -> TensorDataset:
        return TensorDataset(self._images[index][self.test_indices])

    def eval_labels(self) -> torch.Tensor:
        """The digit labels of the evaluation items (the same order as :meth:`eval_set`)."""
        return self._labels[self.test_indices].clone()

    def _build_domain_view(self) -> LabelledView:
        channels = self.view_channels
        parts = [
            self._images[d][idx].expand(-1, channels, -1, -1)
            for d, idx in enumerate((self.train_indices_a, self.train_indices_b))
        ]
        labels = torch.cat(
            [torch.full((len(p),), d, dtype=torch.int64) for d, p in enumerate(parts)]
        )
        shape = (channels, self.image_size, self.image_size)
        return LabelledView(TensorDataset(torch.cat(parts), labels), shape, ["A", "B"])

    def class_view(self) -> LabelledView:
        """Training images of B (the served target) with their digit labels, 10 classes."""
        if self._class_view is None:
            idx = self.train_indices_b
            dataset = TensorDataset(self._images[1][idx].clone(), self._labels[idx].clone())
            self._class_view = LabelledView(dataset, self.sample_shape, self.digit_classes)
        return self._class_view


class Edges2DigitsDataModule(DigitTranslationDataModule):
    """``data=edges2digits``: outlines (A) to digits in random ink colours (B), paired.

    1,617 training pairs and 180 test pairs. See the module docstring; arguments as for
    :class:`DigitTranslationDataModule`.
    """

    paired_training = True

    def render(self, intensity: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return render_edges(intensity), render_colour(intensity, ink_colours(len(intensity)))


class Chalk2InkDataModule(DigitTranslationDataModule):
    """``data=chalk2ink``: chalk on slate (A) to blue ink on cream paper (B), unpaired.

    A trains on one half of the training split (808 digits), B on the other (809), so no pair is
    ever seen (``paired`` is False); the 180 test digits have both renderings, so
    ``eval_set("A")[i]`` and ``eval_set("B")[i]`` are ground-truth pairs (``eval_paired``).
    :meth:`class_view` gives B's training images with their digit labels (a digit classifier on
    real ink images can judge translated ones). Arguments as for
    :class:`DigitTranslationDataModule`.
    """

    render_a = staticmethod(render_chalk)
    render_b = staticmethod(render_ink)

    paired_training = False

    def render(self, intensity: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return render_chalk(intensity), render_ink(intensity)

    def train_indices(self, train: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        half = len(train) // 2
        return train[:half], train[half:]
