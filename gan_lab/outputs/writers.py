"""One writer per output type: an ImageOutput as PNG, a FramesOutput as GIF (Pillow; the default)
or MP4 (imageio with imageio-ffmpeg), a TextOutput as UTF-8 text with a PNG picture of it beside.
:func:`write` picks the writer and the file suffix."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import torch.nn.functional as F

from gan_lab.outputs.base import FramesOutput, ImageOutput, Output, TextOutput, to_uint8

__all__ = ["VIDEO_FORMATS", "gif_bytes", "suffix_for", "text_png_bytes", "write"]

VIDEO_FORMATS = ("gif", "mp4")


def suffix_for(output: Output, video_format: str = "gif") -> str:
    """The file suffix :func:`write` gives ``output``: .png, .gif / .mp4, .txt."""
    if isinstance(output, ImageOutput):
        return ".png"
    if isinstance(output, FramesOutput):
        if video_format not in VIDEO_FORMATS:
            raise ValueError(f"video_format={video_format!r}: must be one of "
                             f"{', '.join(VIDEO_FORMATS)}")
        return f".{video_format}"
    if isinstance(output, TextOutput):
        return ".txt"
    raise TypeError(f"no writer for a {type(output).__name__}")


def write(output: Output, stem: Path, video_format: str = "gif") -> Path:
    """``output`` written to ``stem`` + the suffix of its type (parent folders made); the path.
    ``video_format`` (frames only): ``gif`` or ``mp4``."""
    stem = Path(stem)
    path = stem.parent / (stem.name + suffix_for(output, video_format))
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(output, ImageOutput):
        from torchvision.utils import save_image

        save_image(output.pixels.detach().float().cpu(), path)
    elif isinstance(output, FramesOutput) and video_format == "mp4":
        _write_mp4(output, path)
    elif isinstance(output, FramesOutput):
        path.write_bytes(gif_bytes(output))
    else:
        path.write_text(output.text, encoding="utf-8")
        # and a picture of it beside, for pages and dashboards that show images
        path.with_suffix(".png").write_bytes(text_png_bytes(output.text))
    return path


def text_png_bytes(text: str, max_lines: int = 64, max_chars: int = 160) -> bytes:
    """``text`` drawn black on white in Pillow's default font, as PNG bytes (at most
    ``max_lines`` lines of ``max_chars`` characters: a sample sheet, not the whole file)."""
    from PIL import Image, ImageDraw, ImageFont

    lines = [line[:max_chars] for line in text.splitlines()[:max_lines]] or [""]
    font = ImageFont.load_default()
    measure = ImageDraw.Draw(Image.new("L", (1, 1)))
    boxes = [measure.textbbox((0, 0), line or " ", font=font) for line in lines]
    height = max(box[3] - box[1] for box in boxes) + 4
    width = max(box[2] for box in boxes) + 16
    image = Image.new("RGB", (width, height * len(lines) + 12), "white")
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        draw.text((8, 6 + row * height), line, fill="black", font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def gif_bytes(output: FramesOutput) -> bytes:
    """The frames as an endlessly looping GIF (Pillow, an adaptive palette per frame).

    Pillow folds a frame identical to the one before into it (their durations add up), so a
    still stretch is one GIF frame."""
    from PIL import Image

    frames = to_uint8(output.frames).permute(0, 2, 3, 1).numpy()  # (T, H, W, 3)
    images = [Image.fromarray(frame) for frame in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                   duration=max(1, round(1000 / output.fps)), loop=0)
    return buffer.getvalue()


def _write_mp4(output: FramesOutput, path: Path) -> None:
    """H.264 MP4 through imageio's ffmpeg plugin; odd sides are padded (white) to even ones, as
    yuv420p needs."""
    if importlib.util.find_spec("imageio_ffmpeg") is None:
        raise ValueError("video_format=mp4 needs the package imageio-ffmpeg (pip install "
                         "imageio-ffmpeg); video_format=gif needs nothing more")
    import imageio.v2 as imageio

    frames = output.frames.detach().float().cpu()
    height, width = frames.shape[-2:]
    frames = F.pad(frames, (0, width % 2, 0, height % 2), value=1.0)
    with imageio.get_writer(str(path), format="FFMPEG", mode="I", fps=output.fps,
                            codec="libx264", pixelformat="yuv420p", macro_block_size=1) as writer:
        for frame in to_uint8(frames).permute(0, 2, 3, 1).numpy():
            writer.append_data(frame)
