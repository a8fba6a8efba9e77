"""What one sample of a data module is (gan_lab.kinds.SampleSpec), declared by every data module."""

from __future__ import annotations

from gan_lab.kinds import SampleKind, SampleSpec


class DeclaresSample:
    """Gives a data module its ``sample_spec`` from its ``sample_kind`` (images unless it says
    otherwise), ``sample_shape``, ``sample_dtype`` and, for token sequences, ``vocab_size``; a
    module may instead assign a whole :class:`SampleSpec` to ``sample_spec``."""

    sample_kind: SampleKind = SampleKind.IMAGES
    sample_dtype: str = "float32"

    @property
    def sample_spec(self) -> SampleSpec:
        declared = self.__dict__.get("_sample_spec")
        if declared is not None:
            return declared
        return SampleSpec(self.sample_kind, tuple(self.sample_shape), dtype=self.sample_dtype,
                          vocab_size=getattr(self, "vocab_size", None))

    @sample_spec.setter
    def sample_spec(self, spec: SampleSpec) -> None:
        self.__dict__["_sample_spec"] = spec
