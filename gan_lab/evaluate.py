"""`python -m gan_lab.evaluate ckpt=FILE eval=classifier`: score a checkpoint and print a table.

The generator comes from the checkpoint alone (loaded weights-only); the real data from the
checkpoint's data config, with ``+data.KEY=VALUE`` overrides. Results are printed, written to
``results.json`` and appended to ``eval/metrics.csv`` in the output folder. ``results.json``'s
``ema`` says which generator was scored: its EMA copy (true) or the trained one (false: with
``ema=false``, and for models that keep no EMA whatever ``ema`` says).
"""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from gan_lab.cli import command
from gan_lab.config import ConfigError

__all__ = ["format_table", "main", "scored_generator"]


def format_table(results: dict[str, float]) -> str:
    """Two aligned columns: metric, value."""
    width = max([len("metric"), *map(len, results)])
    lines = [f"{'metric':<{width}}  value", f"{'-' * width}  {'-' * 12}"]
    lines += [f"{name:<{width}}  {value:.6g}" for name, value in results.items()]
    return "\n".join(lines)


def scored_generator(ema: bool, asked: bool, module: object) -> str:
    """Which generator was scored, for the console: ``ema`` whether it was the EMA copy,
    ``asked`` the command's ``ema`` setting."""
    if ema:
        return "EMA generator"
    if not asked:
        return "generator without EMA"
    if getattr(module, "generator_ema", None) is not None:
        return "generator without EMA: its EMA copy was never updated"
    return "generator without EMA: the model keeps none"


@command("evaluate")
def main(cfg: DictConfig) -> dict[str, float]:
    import lightning.pytorch as pl

    from gan_lab.building import build
    from gan_lab.config import config_errors
    from gan_lab.loading import is_export, load_module, read_checkpoint
    from gan_lab.quiet import silence_chatter
    from gan_lab.sample import resolve_device

    if not cfg.get("eval"):
        raise ConfigError("eval: choose what to compute, e.g. eval=classifier or eval=inception")
    silence_chatter()  # Lightning's lines once, in the console's format
    contents = read_checkpoint(cfg.ckpt, exports=True)
    if not cfg.ema and is_export(contents) and contents.get("ema"):
        raise ConfigError(f"ema=false: {cfg.ckpt} is a weights-only export of the EMA generator; "
                          "the generator without its EMA is in the run's checkpoint (last.ckpt)")
    module, trained = load_module(cfg.ckpt, resolve_device(cfg.device))
    if not cfg.ema:
        module.generator_ema = None  # sampling falls back to the trained generator
    data_cfg = OmegaConf.merge(trained.data, cfg.data)
    pl.seed_everything(int(trained.get("seed", 0)), verbose=False)
    datamodule = build(OmegaConf.create({"data": data_cfg}), "data")
    evaluation = build(cfg, "eval")
    with config_errors():
        evaluation.check(module)
        evaluation.prepare(datamodule)
    results = evaluation.evaluate(module, datamodule, "evaluate")
    ema = bool(evaluation.scored_ema)  # what was scored, not what was asked for
    print(f"gan_lab: {cfg.ckpt} (iteration {module.iteration}, "
          f"{scored_generator(ema, bool(cfg.ema), module)})")
    print(format_table(results))
    (Path(cfg.run_dir) / "results.json").write_text(
        json.dumps({"ckpt": str(cfg.ckpt), "iteration": module.iteration, "ema": ema,
                    **results}, indent=2)
        + "\n")
    return results


if __name__ == "__main__":
    main()
