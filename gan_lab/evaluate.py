"""`python -m gan_lab.evaluate ckpt=FILE eval=classifier`: score a checkpoint and print a table.

The generator comes from the checkpoint alone (loaded weights-only); the real data from the
checkpoint's data config, with ``+data.KEY=VALUE`` overrides. Results are printed, written to
``results.json`` and appended to ``eval/metrics.csv`` in the output folder.
"""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from gan_lab.cli import command
from gan_lab.config import ConfigError

__all__ = ["format_table", "main"]


def format_table(results: dict[str, float]) -> str:
    """Two aligned columns: metric, value."""
    width = max([len("metric"), *map(len, results)])
    lines = [f"{'metric':<{width}}  value", f"{'-' * width}  {'-' * 12}"]
    lines += [f"{name:<{width}}  {value:.6g}" for name, value in results.items()]
    return "\n".join(lines)


@command("evaluate")
def main(cfg: DictConfig) -> dict[str, float]:
    import lightning.pytorch as pl

    from gan_lab.building import build
    from gan_lab.config import config_errors
    from gan_lab.loading import load_module
    from gan_lab.sample import resolve_device

    if not cfg.get("eval"):
        raise ConfigError("eval: choose what to compute, e.g. eval=classifier or eval=inception")
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
    print(f"gan_lab: {cfg.ckpt} (iteration {module.iteration}"
          f"{'' if cfg.ema else ', generator without EMA'})")
    print(format_table(results))
    (Path(cfg.run_dir) / "results.json").write_text(
        json.dumps({"ckpt": str(cfg.ckpt), "iteration": module.iteration, "ema": bool(cfg.ema),
                    **results}, indent=2)
        + "\n")
    return results


if __name__ == "__main__":
    main()
