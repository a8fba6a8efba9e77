"""Outputs by kind (gan_lab.outputs): every registered renderer draws its example and every output
is written and logged; the sample and translate commands write what a module's sample kind
makes; the command options are one mapping each model checks."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf
from PIL import Image

from gan_lab.callbacks.evaluation import Sampler
from gan_lab.cli import model_options, open_mapping_overrides
from gan_lab.config import ConfigError, config_dir
from gan_lab.kinds import SampleKind, SampleSpec
from gan_lab.outputs import (
    FramesOutput,
    ImageOutput,
    TextOutput,
    register_renderer,
    render,
    renderers,
    write,
)
from gan_lab.resolvers import register_resolvers
from gan_lab.visuals import Visual


# ----------------------------------------------------------------------------- every kind
def test_the_renderers_are_found_and_each_has_an_example():
    found = renderers()
    assert {SampleKind.IMAGES, SampleKind.POINTS, SampleKind.CLIPS, SampleKind.TOKENS} <= set(found)
    missing = [str(kind) for kind, entry in found.items() if entry.example is None]
    assert not missing, f"renderers without an example: {missing}"


@pytest.mark.parametrize("kind", sorted(renderers()))
def test_every_registered_kind_renders_and_writes_its_example(kind, tmp_path):
    visual = renderers()[kind].example()
    assert visual.kind == kind
    output = render(visual)
    path = write(output, tmp_path / "example")
    assert path.is_file() and path.stem == "example"
    if isinstance(output, ImageOutput):
        assert path.suffix == ".png"
        with Image.open(path) as image:
            assert image.size == (output.pixels.shape[2], output.pixels.shape[1])
    elif isinstance(output, FramesOutput):
        assert path.suffix == ".gif"
        with Image.open(path) as image:
            assert image.n_frames == len(output.frames)
            assert image.size == (output.frames.shape[3], output.frames.shape[2])
    else:
        assert isinstance(output, TextOutput) and path.suffix == ".txt"
        assert path.read_text(encoding="utf-8") == output.text


def test_visual_kinds_are_sample_kinds_and_an_unknown_one_is_one_line():
    visual = Visual("images", torch.zeros(1, 1, 2, 2))
    assert visual.kind is SampleKind.IMAGES and visual.kind == "images" and visual.options == {}
    with pytest.raises(ValueError, match=r"no renderer for visuals of kind 'video'; known kinds: "
                                         r".*clips.*images.*gan_lab/outputs/renderers/"):
        render(Visual("video", torch.zeros(1, 3, 2, 4, 4)))


def test_register_renderer_takes_sample_kinds_only_and_one_renderer_each():
    with pytest.raises(ValueError, match=r"register_renderer\('video'\): not a sample kind"):
        register_renderer("video")
    assert SampleKind.IMAGES in renderers()
    with pytest.raises(ValueError, match="two renderers for visuals of kind 'images'"):
        register_renderer(SampleKind.IMAGES)(lambda visual: None)


def test_images_render_as_the_grids_before_the_outputs(tmp_path):
    """The images renderer and the PNG writer give the same file as save_image did."""
    from torchvision.utils import save_image

    images = torch.rand(5, 1, 6, 4, generator=torch.Generator().manual_seed(0)) * 2 - 1
    save_image(images, tmp_path / "old.png", nrow=3, normalize=True, value_range=(-1, 1),
               pad_value=1.0)
    write(render(Visual("images", images, nrow=3)), tmp_path / "new")
    save_image(images[2], tmp_path / "old_single.png", normalize=True, value_range=(-1, 1))
    write(render(Visual("images", images[2:3], nrow=1)), tmp_path / "new_single")
    for old, new in (("old.png", "new.png"), ("old_single.png", "new_single.png")):
        with Image.open(tmp_path / old) as a, Image.open(tmp_path / new) as b:
            assert a.size == b.size and a.tobytes() == b.tobytes()


def test_clips_become_frames_of_grids_and_tokens_lines_of_words():
    clips = torch.rand(3, 4, 1, 5, 6) * 2 - 1
    frames = render(Visual("clips", clips, nrow=2, options={"fps": 12}))
    assert isinstance(frames, FramesOutput) and frames.fps == 12
    assert frames.frames.shape == (4, 3, 2 * 7 + 2, 2 * 8 + 2)  # 2 rows of 2 clips, padding 2
    assert render(Visual("clips", clips)).fps == 8
    with pytest.raises(ValueError, match=r"a 'clips' visual needs \(N, T, C, H, W\)"):
        render(Visual("clips", clips[0]))
    ids = torch.tensor([[2, 0, 1], [1, 1, 7]])
    assert render(Visual("tokens", ids)).text == "2 0 1\n1 1 7\n"
    worded = render(Visual("tokens", ids, options={"vocabulary": ["a", "b", "ç"]}))
    assert worded.text == "ç a b\nb b <7>\n"
    ended = render(Visual("tokens", ids, options={"vocabulary": ["a", "b", "ç"], "end_token": 0}))
    assert ended.text == "ç\nb b <7>\n"  # cut before the first end token (text data's padding)
    with pytest.raises(ValueError, match="a 'tokens' visual needs integer ids"):
        render(Visual("tokens", ids.float()))


# ----------------------------------------------------------------------------- writers
def _frames(count: int = 3) -> FramesOutput:
    frames = torch.zeros(count, 3, 5, 7)
    for t in range(count):
        frames[t, t % 3, :, t:t + 2] = 1.0  # no two frames alike
    return FramesOutput(frames, fps=10)


def test_writers_write_png_gif_and_text(tmp_path):
    png = write(ImageOutput(torch.rand(3, 4, 9)), tmp_path / "a.b" / "image")
    assert png == tmp_path / "a.b" / "image.png"
    with Image.open(png) as image:
        assert image.size == (9, 4) and image.mode == "RGB"
    gif = write(_frames(), tmp_path / "clip.v1")  # a dot in the stem is kept
    assert gif.name == "clip.v1.gif"
    with Image.open(gif) as image:
        assert image.n_frames == 3 and image.size == (7, 5)
        assert image.info["duration"] == 100 and image.info["loop"] == 0
    text = write(TextOutput("één\ntwee\n"), tmp_path / "words")
    assert text.read_bytes() == "één\ntwee\n".encode()
    picture = Image.open(text.with_suffix(".png"))  # the text drawn, beside the file
    assert picture.width > 20 and picture.height > 20
    assert np.asarray(picture.convert("L")).min() < 128  # some ink on the white
    with pytest.raises(ValueError, match="video_format='avi': must be one of gif, mp4"):
        write(_frames(), tmp_path / "clip", video_format="avi")


def test_mp4_names_the_package_it_needs(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "imageio_ffmpeg" else real(name, *a))
    with pytest.raises(ValueError, match="video_format=mp4 needs the package imageio-ffmpeg"):
        write(_frames(), tmp_path / "clip", video_format="mp4")


@pytest.mark.skipif(importlib.util.find_spec("imageio_ffmpeg") is None,
                    reason="imageio-ffmpeg is not installed")
def test_mp4_frames_are_written(tmp_path):
    import imageio.v2 as imageio

    path = write(_frames(4), tmp_path / "clip", video_format="mp4")
    with imageio.get_reader(str(path), format="FFMPEG") as reader:
        assert reader.count_frames() == 4 and reader.get_meta_data()["fps"] == 10
        assert reader.get_data(0).shape == (6, 8, 3)  # odd sides padded to even


def test_outputs_refuse_wrong_layouts():
    with pytest.raises(ValueError, match=r"an ImageOutput holds float \(3, H, W\)"):
        ImageOutput(torch.zeros(1, 4, 4))
    with pytest.raises(ValueError, match=r"a FramesOutput holds float \(T, 3, H, W\)"):
        FramesOutput(torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="fps=0: must be an integer >= 1"):
        FramesOutput(torch.zeros(2, 3, 4, 4), fps=0)


# ----------------------------------------------------------------------------- loggers
def test_log_output_sends_each_output_to_tensorboard(tmp_path):
    from lightning.pytorch.loggers import TensorBoardLogger
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from gan_lab.loggers import RunCSVLogger, log_output

    board = TensorBoardLogger(str(tmp_path), name="", version="")
    csv = RunCSVLogger(str(tmp_path / "csv"))
    outputs = {"image": ImageOutput(torch.rand(3, 4, 6)), "clip": _frames(),
               "text": TextOutput("1 2 3\n4 5 6\n")}
    for key, output in outputs.items():
        log_output([board, csv], f"samples/{key}", output, step=7)
    board.experiment.flush()
    events = EventAccumulator(str(tmp_path), size_guidance={"images": 0, "tensors": 0})
    events.Reload()
    (image,) = events.Images("samples/image")
    assert image.step == 7 and (image.width, image.height) == (6, 4)
    (clip,) = events.Images("samples/clip")
    gif = tmp_path / "from_board.gif"
    gif.write_bytes(clip.encoded_image_string)
    with Image.open(gif) as frames:
        assert frames.format == "GIF" and frames.n_frames == 3 and clip.step == 7
    (text,) = events.Tensors("samples/text/text_summary")
    assert text.tensor_proto.string_val[0].decode() == "    1 2 3\n    4 5 6"
    assert not (tmp_path / "csv" / "metrics.csv").exists()  # the CSV logger takes numbers only


def test_log_output_sends_each_output_to_wandb(tmp_path):
    import wandb
    from lightning.pytorch.loggers import WandbLogger

    class FakeWandb(WandbLogger):
        """A W&B logger whose run is a list: what would be logged, with its step."""

        def __init__(self) -> None:
            super().__init__(save_dir=str(tmp_path), offline=True)
            self.logged: list[tuple[dict, int | None]] = []

        def log_metrics(self, metrics, step=None):
            self.logged.append((dict(metrics), step))

    from gan_lab.loggers import log_output

    fake = FakeWandb()
    log_output([fake], "samples", ImageOutput(torch.rand(3, 4, 6)), step=3)
    log_output([fake], "samples/clip", _frames(), step=3)
    log_output([fake], "samples/text", TextOutput("a <b>\n"), step=3)
    (image,), (video,), text = (next(iter(m.values())) for m, _ in fake.logged)
    assert [step for _, step in fake.logged] == [3, 3, 3]
    assert isinstance(image, wandb.Image) and image.image.size == (6, 4)
    assert isinstance(video, wandb.Video) and video._format == "gif"
    with Image.open(video._path) as frames:
        assert frames.n_frames == 3
    assert isinstance(text, wandb.Html) and "<pre>a &lt;b&gt;\n</pre>" in text.html


# ----------------------------------------------------------------------------- sampling protocol
class _Generator:
    """A module following the sampling protocol, making samples of ``spec`` from its codes."""

    iteration = 3
    num_classes = 0

    def __init__(self, spec: SampleSpec, make, **attributes) -> None:
        self.sample_spec, self.make, self.calls = spec, make, []
        for name, value in attributes.items():
            setattr(self, name, value)

    def speaks(self, protocol: str) -> bool:
        return callable(getattr(self, protocol, None))

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, 6, generator=generator)

    def sample(self, n=None, labels=None, noise=None, condition=None):
        self.calls.append({"n": n, "labels": labels, "condition": condition})
        return self.make(noise if noise is not None else self.noise(n))


def test_the_evaluation_sampler_keeps_integer_samples_and_passes_a_condition():
    tokens = _Generator(SampleSpec("tokens", (6,), "int64", vocab_size=2),
                        lambda z: (z > 0).long())
    ids = Sampler(tokens)(4, condition=torch.ones(4))
    assert ids.dtype == torch.int64 and ids.shape == (4, 6)
    assert tokens.calls[-1]["condition"].shape == (4,) and tokens.calls[-1]["labels"] is None
    half = _Generator(SampleSpec("images", (1, 2, 3)),
                      lambda z: z[:, :6].reshape(-1, 1, 2, 3).to(torch.bfloat16))
    assert Sampler(half)(2).dtype == torch.float32
    pairs = _Generator(SampleSpec("images", (1, 2, 3)),
                       lambda z: {"image": z.half(), "mask": z > 0})
    drawn = Sampler(pairs)(2)
    assert drawn["image"].dtype == torch.float32 and drawn["mask"].dtype == torch.bool


def _sample_cfg(tmp_path: Path, *overrides: str):
    """conf/sample.yaml composed with ``overrides`` as the command line would give them."""
    register_resolvers()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
            cfg = compose("sample", overrides=open_mapping_overrides(
                ["ckpt=unused", f"out={tmp_path}", *overrides], ("options",)))
    finally:
        GlobalHydra.instance().clear()
    return cfg


def test_the_sample_command_writes_tokens_as_text(tmp_path):
    from gan_lab.sample import write_samples

    spec = SampleSpec("tokens", (6,), "int64", vocab_size=2, extras={"vocabulary": ["no", "yes"]})
    module = _Generator(spec, lambda z: (z > 0).long())
    cfg = _sample_cfg(tmp_path, "n=5", "interpolation_rows=2", "interpolation_steps=3")
    assert write_samples(module, cfg, tmp_path) == ("tokens", ["grid.txt", "tokens.txt",
                                                         "interpolation.txt"])
    lines = (tmp_path / "tokens.txt").read_text().splitlines()
    assert len(lines) == 5 and all(set(line.split()) <= {"no", "yes"} for line in lines)
    assert (tmp_path / "grid.txt").read_text() == (tmp_path / "tokens.txt").read_text()
    assert len((tmp_path / "interpolation.txt").read_text().splitlines()) == 6


def test_the_sample_command_writes_clips_as_gifs_and_points_as_one_scatter(tmp_path):
    from gan_lab.sample import write_samples

    def clips(z):  # 3 frames of 4x4 grey, each brighter than the last
        return (z[:, :1, None, None, None] * 0.1 + torch.tensor([-0.8, 0.0, 0.8])[
            None, :, None, None, None]).expand(-1, 3, 1, 4, 4)

    module = _Generator(SampleSpec("clips", (3, 1, 4, 4), extras={"fps": 5}), clips)
    cfg = _sample_cfg(tmp_path / "c", "n=3", "nrow=3", "interpolation_rows=1",
                      "interpolation_steps=2")
    assert write_samples(module, cfg, tmp_path / "c") == ("clips", ["grid.gif", "clips/",
                                                               "interpolation.gif"])
    with Image.open(tmp_path / "c" / "clips" / "000002.gif") as single:
        assert single.n_frames == 3 and single.size == (4, 4) and single.info["duration"] == 200
    with Image.open(tmp_path / "c" / "grid.gif") as grid:
        assert grid.n_frames == 3 and grid.size == (3 * 6 + 2, 6 + 2)
    points = _Generator(SampleSpec("points", (2,)), lambda z: z[:, :2])
    cfg = _sample_cfg(tmp_path / "p", "n=50")
    assert write_samples(points, cfg, tmp_path / "p") == ("points", ["grid.png",
                                                                     "interpolation.png"])
    points.sample_spec = None  # a checkpoint from before the specs: told by the samples' shape
    assert write_samples(points, cfg, tmp_path / "p")[0] == "points"


def test_a_module_can_condition_its_samples_through_its_options(tmp_path):
    from gan_lab.sample import write_samples

    def sample_condition(n, options):
        return torch.full((n,), len(options["word"]))

    module = _Generator(SampleSpec("images", (1, 2, 3)), lambda z: z.reshape(-1, 1, 2, 3).tanh(),
                        condition_options=("word",), sample_options=(),
                        sample_condition=sample_condition)
    cfg = _sample_cfg(tmp_path, "n=2", "interpolation_rows=2", "interpolation_steps=3",
                      "options.word=four")
    write_samples(module, cfg, tmp_path)
    grid, path = module.calls
    assert grid["labels"] is None and grid["condition"].tolist() == [4, 4]
    assert path["condition"].tolist() == [4] * 6  # one condition per row, along its path
    with pytest.raises(ConfigError, match=r"labels=3: a _Generator is conditioned through its "
                                          r"options \(options.word\), not labels"):
        write_samples(module, _sample_cfg(tmp_path, "labels=3"), tmp_path)
    with pytest.raises(ConfigError, match=r"options.size=\[4, 5\]: a _Generator does not take size "
                                          r"\(its sample options: options.word\)"):
        write_samples(module, _sample_cfg(tmp_path, "options.size=[4,5]"), tmp_path)


# ----------------------------------------------------------------------------- translation inputs
def test_translate_reads_inputs_through_the_reader_a_module_declares(tmp_path):
    from gan_lab.translate import translate_files

    class TokenReader:
        extensions = (".ids",)

        def read(self, path, direction, size):
            values = [int(v) for v in path.read_text().split()]
            if any(v > 9 for v in values):
                raise ValueError(f"id {max(values)} is not in the vocabulary")
            return torch.tensor([values])

    class Reverser:
        iteration = 0
        directions = ("reverse",)
        sample_spec = SampleSpec("tokens", (3,), "int64", vocab_size=10)
        translate_options = ("shift",)
        input_reader = TokenReader()

        def translate(self, ids, direction, shift=0):
            return ids.flip(-1) + shift

    source = tmp_path / "in"
    (source / "deep").mkdir(parents=True)
    (source / "a.ids").write_text("1 2 3")
    (source / "deep" / "b.ids").write_text("4 5")
    (source / "ignored.png").write_text("not read: not the reader's extension")
    cfg = OmegaConf.create({"direction": None, "extensions": None, "size": None,
                            "video_format": "gif", "input": str(source),
                            "options": {"shift": 1}})
    count, direction = translate_files(Reverser(), cfg, source, tmp_path / "out")
    assert (count, direction) == (2, "reverse")
    assert (tmp_path / "out" / "a.txt").read_text() == "4 3 2\n"
    assert (tmp_path / "out" / "deep" / "b.txt").read_text() == "6 5\n"
    (source / "c.ids").write_text("12")
    with pytest.raises(ConfigError, match=r"input .*c.ids: id 12 is not in the vocabulary"):
        translate_files(Reverser(), cfg, source, tmp_path / "out")


# ----------------------------------------------------------------------------- options
def test_options_are_one_mapping_set_without_a_plus(tmp_path):
    assert open_mapping_overrides(["options.size=[40,60]", "n=4", "+options.x=1",
                                   "options={a: 1}", "optionsx=1"], ("options",)) == [
        "++options.size=[40,60]", "n=4", "+options.x=1", "++options={a: 1}", "optionsx=1"]
    cfg = _sample_cfg(tmp_path, "options.size=[40,60]", "options.truncation_psi=0.7")
    assert OmegaConf.to_container(cfg.options) == {"size": [40, 60], "truncation_psi": 0.7}
    for name in ("sample", "translate"):  # no per-model keys left in the commands' configs
        keys = set(OmegaConf.load(Path(config_dir()) / f"{name}.yaml"))
        assert "options" in keys
        assert not keys & {"size", "truncation_psi", "truncation_cutoff", "style_mixing",
                           "style_mixing_crossover", "attributes", "mask", "scale"} - {
            "size" if name == "translate" else ""}


def test_model_options_follow_the_declaration_or_else_the_signature():
    declared = SimpleNamespace(sample_options=("size",), sample=lambda n=None, **kw: None)
    assert model_options(declared, {"size": [4, 5]}, "sample") == {"size": [4, 5]}
    with pytest.raises(ConfigError, match=r"options.psi=0.5: a SimpleNamespace does not take psi "
                                          r"\(its sample options: options.size\)"):
        model_options(declared, {"psi": 0.5}, "sample")

    class Named:
        def translate(self, images, direction="AtoB", scale=None):
            return images

    assert model_options(Named(), {"scale": 2}, "translate") == {"scale": 2}
    with pytest.raises(ConfigError, match=r"options.images=1: a Named does not take images "
                                          r"\(its translate options: options.scale\)"):
        model_options(Named(), {"images": 1}, "translate")

    class Plain:
        def translate(self, images, direction="AtoB"):
            return images

    with pytest.raises(ConfigError, match=r"a Plain does not take mask \(it takes no translate "
                                          r"options\)"):
        model_options(Plain(), {"mask": "m.png"}, "translate")

    class Open:  # **options: the scheme checks them itself
        def sample(self, n=None, labels=None, noise=None, **options):
            return noise

    assert model_options(Open(), {"anything": 1}, "sample") == {"anything": 1}
    assert model_options(Open(), {"style_mixing": True}, "sample",
                         handled=("style_mixing",)) == {"style_mixing": True}
