"""The history of generated images that CycleGAN's discriminators are trained on.

Shrivastava et al. 2017 (sec. 2.3) and CycleGAN (Zhu et al. 2017, sec. 4): D is updated with a
mix of the newest fakes and fakes from earlier generators, kept in a buffer of 50 images, which
reduces model oscillation. Each incoming image fills the buffer while it is not full; after
that, with probability 1/2 it is returned as is, otherwise a stored image chosen uniformly at
random is returned and the new one takes its place.

The buffer is a module buffer, so it lives in every checkpoint (and moves with the module to
its device); its random choices come from the global torch RNG, which checkpoints also hold,
so a resumed run draws what the uninterrupted one would have drawn.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ImagePool(nn.Module):
    """A buffer of up to ``size`` generated images; ``pool(fakes)`` gives D's fake batch.

    ``size=0`` disables it (the newest fakes pass through).
    """

    def __init__(self, size: int = 50) -> None:
        super().__init__()
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"model.pool_size={size!r}: must be an integer >= 0 (0 disables it)")
        self.size = size
        # Empty until the first batch tells the image shape; grown, never shrunk.
        self.register_buffer("images", torch.empty(0))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def forward(self, fakes: Tensor) -> Tensor:
        fakes = fakes.detach()
        if self.size == 0:
            return fakes
        if self.images.numel() == 0:
            self.images = fakes.new_zeros((self.size, *fakes.shape[1:]))
        out = []
        for image in fakes:
            filled = int(self.count)
            if filled < self.size:
                self.images[filled] = image
                self.count += 1
                out.append(image)
            elif bool(torch.rand(()) < 0.5):
                slot = int(torch.randint(self.size, ()))
                out.append(self.images[slot].clone())
                self.images[slot] = image
            else:
                out.append(image)
        return torch.stack(out)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        # The saved buffer has the image shape; give ours that shape before it is copied in.
        saved = state_dict.get(prefix + "images")
        if saved is not None and saved.shape != self.images.shape:
            self.images = torch.empty_like(saved, device=self.images.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
