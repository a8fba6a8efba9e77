"""``--help`` for gan_lab's commands, built from the configs themselves.

Each group option is described by the first sentence of the comment at the top of its yaml;
each key of a command's own config by the comment on its line. Base configs that are not
options of their own (names starting with ``_``) are not listed. Hydra renders the text:
the configs set ``hydra.help.template: ${gan_lab_help:<command>}`` (the resolver is
registered in gan_lab/resolvers.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from gan_lab.config import config_dir

__all__ = ["describe", "help_text"]

WIDTH = 100
EXAMPLES = {
    "config": [
        "python -m gan_lab                                  # DCGAN on the bundled digits, CPU",
        "python -m gan_lab loss=wgan_gp iterations=5000     # any objective, any budget",
        "python -m gan_lab model=cyclegan data=horse2zebra  # CycleGAN as in the paper",
        "python -m gan_lab -m loss=nsgan,hinge seed=0,1     # a sweep (4 runs)",
        "python -m gan_lab ckpt_path=RUN/checkpoints/last.ckpt iterations=4000  # resume, extend",
    ],
    "sample": ["python -m gan_lab.sample ckpt=RUN/checkpoints/last.ckpt n=64 truncation=0.7",
               "python -m gan_lab.sample ckpt=RUN/checkpoints/generator.pt seeds=0-35"],
    "export": ["python -m gan_lab.export ckpt=RUN/checkpoints/last.ckpt out=dcgan_digits.pt"],
    "evaluate": ["python -m gan_lab.evaluate ckpt=RUN/checkpoints/last.ckpt eval=classifier"],
    "translate": ["python -m gan_lab.translate ckpt=RUN/checkpoints/last.ckpt input=DIR "
                  "direction=BtoA"],
    "classifier": ["python -m gan_lab.classifier data=fashion_mnist"],
}
TITLES = {
    "config": "train a GAN (or resume one)",
    "sample": "samples from a generator checkpoint (no data set needed)",
    "evaluate": "score a checkpoint and print a table of metrics",
    "translate": "run an image-conditional checkpoint (pix2pix, CycleGAN, StarGAN, SRGAN, a context encoder, SPADE, SinGAN) over a folder of images",
    "classifier": "train (or find in the cache) the classifier behind eval=classifier",
    "export": "the sampling generator of a checkpoint as a small weights-only file",
}
# Training's main top-level keys, in the order a user meets them.
TRAINING_KEYS = ("iterations", "seed", "ckpt_path", "net_width")


def describe(path: Path) -> str:
    """An option's one-line description: the first comment line of its yaml (after any
    ``@package`` line); each option's yaml starts with one."""
    for line in path.read_text().splitlines():
        text = line.lstrip("#").strip()
        if not line.startswith("#"):
            return ""
        if not text.startswith("@package"):
            return text
    return ""


def _defaults(root: Path, name: str) -> dict[str, str]:
    """group -> default option, from a config's defaults list (following ``- config``)."""
    chosen: dict[str, str] = {}
    for entry in yaml.safe_load((root / f"{name}.yaml").read_text()).get("defaults", []):
        if isinstance(entry, str) and entry not in ("_self_",) and (root / f"{entry}.yaml").is_file():
            chosen.update(_defaults(root, entry))
        elif isinstance(entry, dict):
            for group, option in entry.items():
                chosen[group.replace("override ", "").strip()] = str(option)
    return chosen


def _groups(root: Path, only: tuple[str, ...] | None, defaults: dict[str, str]) -> list[str]:
    lines = ["Config groups (group=option; * marks the default):"]
    groups = sorted(p for p in root.iterdir()
                    if p.is_dir() and not p.name.startswith(("_", "hydra")))
    width = max([10, *(len(g.name) for g in groups)]) + 1  # hparams_search is the longest
    for group in groups:
        if only is not None and group.name not in only:
            continue
        options = sorted(p for p in group.glob("*.yaml") if not p.stem.startswith("_"))
        for i, option in enumerate(options):
            mark = "*" if defaults.get(group.name) == option.stem else " "
            label = group.name if i == 0 else ""
            lines.append(f"  {label:<{width}}{option.stem + mark:<24}{describe(option)}")
    return lines


def _keys(root: Path, name: str, keys: tuple[str, ...] | None = None) -> list[str]:
    """``key=default  comment`` for the top-level keys of a command's config."""
    lines = ["Arguments (key=value; ??? means required):"]
    for line in (root / f"{name}.yaml").read_text().splitlines():
        match = re.match(r"^([a-z_]+):\s*(.*?)\s*(?:#\s*(.*))?$", line)
        if not match or match.group(1) in ("defaults", "hydra"):
            continue
        key, value, comment = match.groups()
        if keys is not None and key not in keys:
            continue
        if value.startswith("${hydra:"):
            value = "the run folder"
        lines.append(f"  {key + '=' + (value or '{...}'):<34}{comment or ''}".rstrip())
    return lines


def help_text(command: str) -> str:
    """The whole ``--help`` text of ``python -m gan_lab[.command]``."""
    root = Path(config_dir())
    module = "gan_lab" if command == "config" else f"gan_lab.{command}"
    out = [f"{module}: {TITLES.get(command, '')}", ""]
    if command in ("config", "classifier"):
        defaults = _defaults(root, command)
        only = None if command == "config" else ("data", "eval")
        out += _groups(root, only, defaults) + [""]
        out += _keys(root, "config", TRAINING_KEYS if command == "config" else ("seed",)) + [""]
    else:
        if command == "evaluate":
            out += _groups(root, ("eval",), _defaults(root, command)) + [""]
        out += _keys(root, command) + [""]
    out += ["Examples:"] + [f"  {line}" for line in EXAMPLES.get(command, [])] + [""]
    out += ["Any key of the composed config can be set (see it with --cfg job); an unknown key is",
            "refused with the nearest existing ones. --hydra-help lists Hydra's own flags.", ""]
    return "\n".join(out).replace("$", "$$")  # Hydra fills the text in as a string.Template
