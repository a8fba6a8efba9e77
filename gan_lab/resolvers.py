"""The OmegaConf resolvers gan_lab's configs use (``${mul:...}``, ``${run_folder:...}``, ...).

:func:`register_resolvers` is called by whatever composes a config before it does: the
command entry (cli.py), ``cli.check_override_keys``, the Optuna study (study.py), the tests'
``make_cfg`` and the benchmarks. It is idempotent.
"""

from __future__ import annotations

from omegaconf import OmegaConf

from gan_lab.help import help_text
from gan_lab.resume import generated_folder, run_folder

__all__ = ["register_resolvers"]


def _help(command: str) -> str:
    return help_text(command)


def _run_folder(ckpt_path, fresh: str) -> str:
    return run_folder(ckpt_path, fresh)


def _generated_folder(ckpt, out, date: str, time: str) -> str:
    return generated_folder(ckpt, out, date, time)


def _register(name: str, resolver) -> None:
    if not OmegaConf.has_resolver(name):
        OmegaConf.register_new_resolver(name, resolver)


def register_resolvers() -> None:
    """Register gan_lab's resolvers with OmegaConf (those already registered are left alone)."""
    # `${mul:100,${model.packing}}`: config values that scale with another (e.g. PacGAN's batch
    # of 100 packs).
    _register("mul", lambda a, b: a * b)
    # `${add:${data.channels_a},${data.channels_b}}`: pix2pix's D sees input and output stacked.
    _register("add", lambda a, b: a + b)
    # CycleGAN's generator depth by training-image size (Zhu et al. 2017, appendix 7.2: 6
    # residual blocks for 128x128 images, 9 for 256x256 and larger).
    _register("resnet_blocks", lambda size: 6 if int(size) <= 128 else 9)
    # `norm: ${critic_norm:${loss.gp_weight},${loss.r1_gamma},...}`: a critic trained with an
    # input-gradient penalty (WGAN-GP, R1, R2) gets layer norm, else batch norm (DCGAN); see
    # AdversarialLoss.
    _register("critic_norm",
              lambda *weights: "layer" if any(float(w or 0) > 0 for w in weights) else "batch")
    # `update: ${paired_update:${model.n_critic}}` (experiment=toy): PacGAN's simultaneous
    # update where D and G take one step each per batch; alternating where D takes n_critic
    # steps (WGAN).
    _register("paired_update",
              lambda n_critic: "simultaneous" if int(n_critic) == 1 else "alternating")
    # `hydra.help.template: ${gan_lab_help:config}`: --help text built from the configs (help.py).
    _register("gan_lab_help", _help)
    # `hydra.run.dir: ${run_folder:${ckpt_path},outputs/...}`: a resume continues in the run
    # folder of its checkpoint; a SLURM job gets one folder per job id (resume.py).
    _register("run_folder", _run_folder)
    # `hydra.run.dir: ${generated_folder:${oc.select:ckpt,null},${out},...}` (conf/sample.yaml):
    # samples of a run's checkpoint go beside the run, in RUN/generated/ (resume.py).
    _register("generated_folder", _generated_folder)
