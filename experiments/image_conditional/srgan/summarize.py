"""Table and sample sheet of the SRResNet vs SRGAN-MSE study (run.sh writes the runs).

Reads ``<runs>/eval/<row>/results.json`` (``python -m gan_lab.evaluate eval=super_resolution``)
and the SR images it saved, and writes ``table.md`` (our numbers, the claim checks, and the
paper's numbers beside them) and ``sample_sheet.png`` (centre crops of each evaluation photo: LR,
bicubic, each model, HR).

    python experiments/image_conditional/srgan/summarize.py --runs RUNS --out FOLDER
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

# row key -> label; the evaluated checkpoints run.sh writes under <runs>/eval/<key>/
ROWS = {
    "srresnet_stage": "SRResNet-MSE (SRGAN's first stage)",
    "srresnet": "SRResNet-MSE, trained as long as SRGAN",
    "srgan_mse": "SRGAN-MSE (MSE + 1e-3 adversarial)",
}
# The sample sheet's column titles (short, and telling the two SRResNet rows apart).
COLUMNS = {"srresnet_stage": "SRResNet (first stage)", "srresnet": "SRResNet (as long)",
           "srgan_mse": "SRGAN-MSE"}
# Ledig et al. 2017 (arXiv 1609.04802v5): Table 2 (bicubic, SRResNet, SRGAN = SRGAN-VGG54; x4;
# PSNR dB / SSIM on Y with a 4-pixel border removed; MOS 1-5 from 26 raters) and Table 1
# (SRGAN-MSE).
PAPER = [
    ("Bicubic", "28.43 / 0.8211", "25.99 / 0.7486", "25.94 / 0.6935", "1.47"),
    ("SRResNet (MSE)", "32.05 / 0.9019", "28.49 / 0.8184", "27.58 / 0.7620", "2.29"),
    ("SRGAN-MSE", "30.64 / 0.8701", "26.92 / 0.7611", "-", "-"),
    ("SRGAN (VGG54)", "29.40 / 0.8472", "26.02 / 0.7397", "25.16 / 0.6688", "3.56"),
    ("Original HR", "-", "-", "-", "4.46"),
]
CROP = 128  # side of the sample sheet's HR crops


def load_results(runs: Path) -> dict[str, dict]:
    found = {}
    for key in ROWS:
        path = runs / "eval" / key / "results.json"
        if path.is_file():
            found[key] = json.loads(path.read_text())
    return found


def table(results: dict[str, dict]) -> str:
    any_row = next(iter(results.values()))
    lines = ["| method | iterations | PSNR Y (dB) | SSIM Y | HF energy ratio |",
             "|---|---:|---:|---:|---:|",
             f"| Bicubic | - | {any_row['sr/bicubic_psnr_y']:.2f} | "
             f"{any_row['sr/bicubic_ssim_y']:.4f} | {any_row['sr/bicubic_hf_ratio']:.3f} |"]
    for key, label in ROWS.items():
        if key in results:
            r = results[key]
            lines.append(f"| {label} | {r['iteration']} | {r['sr/psnr_y']:.2f} | "
                         f"{r['sr/ssim_y']:.4f} | {r['sr/hf_ratio']:.3f} |")
    return "\n".join(lines)


def claims(results: dict[str, dict]) -> list[str]:
    """The paper's qualitative claim, checked on our numbers."""
    gan = results.get("srgan_mse")
    if gan is None:
        return ["- SRGAN-MSE was not evaluated."]
    out = []
    for key in ("srresnet_stage", "srresnet"):
        if key not in results:
            continue
        mse = results[key]
        higher = mse["sr/psnr_y"] > gan["sr/psnr_y"] and mse["sr/ssim_y"] > gan["sr/ssim_y"]
        closer = abs(1 - gan["sr/hf_ratio"]) < abs(1 - mse["sr/hf_ratio"])
        out.append(f"- {ROWS[key]} vs SRGAN-MSE: higher PSNR and SSIM for SRResNet: "
                   f"**{'yes' if higher else 'no'}** ({mse['sr/psnr_y']:.2f} vs "
                   f"{gan['sr/psnr_y']:.2f} dB, {mse['sr/ssim_y']:.4f} vs {gan['sr/ssim_y']:.4f}); "
                   f"SRGAN's detail closer to the HR images' (HF ratio nearer 1): "
                   f"**{'yes' if closer else 'no'}** ({mse['sr/hf_ratio']:.3f} vs "
                   f"{gan['sr/hf_ratio']:.3f})")
    return out


def paper_table() -> str:
    lines = ["| method | Set5 PSNR / SSIM | Set14 PSNR / SSIM | BSD100 PSNR / SSIM | BSD100 MOS |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| {' | '.join(row)} |" for row in PAPER]
    return "\n".join(lines)


def _crop(image: np.ndarray, side: int) -> np.ndarray:
    top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
    return image[top:top + side, left:left + side]


def sample_sheet(runs: Path, results: dict[str, dict], path: Path) -> None:
    """Rows: evaluation photos; columns: LR (nearest), bicubic, each model, HR (centre crops)."""
    from matplotlib.figure import Figure

    from gan_lab.data.super_resolution.pairs import PhotosSRDataModule
    from gan_lab.metrics.super_resolution import bicubic_upscale

    scale = 4
    pairs = PhotosSRDataModule(scale=scale, crop_size=scale, batch_size=1).eval_pairs()
    models = [key for key in ROWS if key in results]
    columns = ["LR (nearest)", "bicubic", *(COLUMNS[k] for k in models), "HR"]
    figure = Figure(figsize=(2.2 * len(columns), 2.4 * len(pairs)))
    axes = figure.subplots(len(pairs), len(columns), squeeze=False)
    for row in range(len(pairs)):
        lr, hr = pairs[row]
        name = Path(pairs.names[row]).stem
        to_pixels = lambda x: ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()  # noqa: E731
        nearest = lr.repeat_interleave(scale, -1).repeat_interleave(scale, -2)
        images = [to_pixels(nearest), to_pixels(bicubic_upscale(lr[None], scale)[0])]
        for key in models:
            saved = runs / "eval" / key / "eval" / "sr" / "evaluate" / f"{name}.png"
            images.append(np.asarray(Image.open(saved).convert("RGB")))
        images.append(to_pixels(hr))
        for column, image in enumerate(images):
            axes[row, column].imshow(_crop(image, min(CROP, *image.shape[:2])))
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
            if row == 0:
                axes[row, column].set_title(columns[column], fontsize=9)
        axes[row, 0].set_ylabel(name, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parent
    parser.add_argument("--runs", type=Path, default=here / "runs")
    parser.add_argument("--out", type=Path, default=here)
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = load_results(args.runs)
    if not results:
        raise SystemExit(f"no evaluated runs under {args.runs}/eval; run run.sh first")
    text = ["# SRResNet vs SRGAN-MSE on the embedded photos (x4)", "",
            "Evaluation: the whole held-out chelsea, coffee and camera photos; PSNR and SSIM on the "
            "BT.601 Y channel with 4 pixels removed at each border; HF energy ratio = the SR "
            "image's spectral energy beyond the LR image's band over the HR image's (1 = as much "
            "fine detail as the truth; gan_lab/metrics/super_resolution.py).", "",
            table(results), "", "Claim (Ledig et al. 2017): higher PSNR/SSIM for SRResNet, "
            "better perceptual quality for SRGAN.", "", *claims(results), "",
            "The paper's numbers (Set5 / Set14 / BSD100, x4; Tables 1-2):", "", paper_table(), ""]
    (args.out / "table.md").write_text("\n".join(text))
    sample_sheet(args.runs, results, args.out / "sample_sheet.png")
    print("\n".join(text))


if __name__ == "__main__":
    main()
