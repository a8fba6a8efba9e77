"""The README's default-run picture and timing line, made by one command so they cannot drift.

    make readme-numbers            # = .venv/bin/python docs/readme_numbers.py

Runs the default as the README shows it (`python -m gan_lab hydra.run.dir=default`, in a fresh
folder under the temp dir, with the caller's environment), then
- copies the run's last sample grid, enlarged 3x (nearest neighbour, so pixels stay pixels), to
  docs/default_digits_iter2000.png, the README's picture;
- rewrites the README between the `<!-- readme-numbers:begin -->` and `-end -->` markers: the
  run's own done line, its rate, the date, the machine's CPU count and its load before the run
  (a loaded machine is slower, and the line says so instead of hiding it).
Nothing else in the README is touched; the caption above the picture names the iteration, so a
new default budget needs an edit there (and a new image name).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
IMAGE = REPO / "docs" / "default_digits_iter2000.png"
BEGIN = "<!-- readme-numbers:begin -->"
END = "<!-- readme-numbers:end -->"
COMMAND = ["-m", "gan_lab", "hydra.run.dir=default"]  # the README's command, after `python`
DONE_LINE = re.compile(r"^gan_lab: done, iteration \d+ in .*$", re.MULTILINE)
ENLARGE = 3


def replace_block(text: str, block: str) -> str:
    """``text`` with what lies between the markers (one pair, in order) replaced by ``block``."""
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        raise ValueError(f"expected one {BEGIN} and one {END}, found "
                         f"{text.count(BEGIN)} and {text.count(END)}")
    head, rest = text.split(BEGIN)
    if END not in rest:
        raise ValueError(f"{END} comes before {BEGIN}")
    _, tail = rest.split(END)
    return f"{head}{BEGIN}\n{block.strip()}\n{END}{tail}"


def timing_block(done_line: str, iterations: int, seconds: float, cpus: int, load: float,
                 date: str) -> str:
    """The README's lines for one measured run: its done line, then how fast and where."""
    rate = iterations / seconds
    return (f"`{done_line}`\n"
            f"(the default run, `python {' '.join(COMMAND)}`: {rate:.1f} iterations/s on "
            f"{cpus} CPU cores, 1-minute load average {load:.1f} before it started; "
            f"measured {date} by `make readme-numbers`).")


def usable_cpus() -> int:
    """The cores this process may run on (the affinity mask, where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def run_default(root: Path) -> tuple[str, dict]:
    """Run the default in ``root``; its done line and its ``end.json`` (iteration, seconds)."""
    # The progress bar (stderr) shows as it runs; the done line is read from stdout.
    run = subprocess.run([sys.executable, *COMMAND], cwd=root, stdout=subprocess.PIPE,
                         text=True, check=False)
    sys.stdout.write(run.stdout)
    if run.returncode != 0:
        raise SystemExit(f"readme_numbers: the default run failed (exit {run.returncode})")
    found = DONE_LINE.findall(run.stdout)
    if len(found) != 1:
        raise SystemExit(f"readme_numbers: expected one done line, found {len(found)}")
    record = json.loads((root / "default" / "end.json").read_text())
    if record["status"] != "finished" or record["iteration"] != record["budget"]:
        raise SystemExit(f"readme_numbers: the run did not finish: {record}")
    return found[0], record


def save_picture(run_dir: Path, image: Path) -> Path:
    """The run's last sample grid, enlarged, written to ``image``; the grid's path."""
    grid = sorted((run_dir / "samples").glob("iter_*.png"))[-1]
    with Image.open(grid) as picture:
        width, height = picture.size
        picture.resize((width * ENLARGE, height * ENLARGE), Image.NEAREST).save(image)
    return grid


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the run's folder")
    args = parser.parse_args(argv)

    # A fixed folder, so that the done line's path reads the same from one measurement to the
    # next; emptied first, so that the run is fresh (not a resume).
    root = Path(tempfile.gettempdir()) / "gan_lab-readme-numbers"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    load = os.getloadavg()[0]
    started = time.monotonic()
    done_line, record = run_default(root)
    wall = time.monotonic() - started
    grid = save_picture(root / "default", IMAGE)
    block = timing_block(done_line, record["iteration"], record["seconds"], usable_cpus(), load,
                         datetime.date.today().isoformat())
    README.write_text(replace_block(README.read_text(), block))
    print(f"readme_numbers: {grid.relative_to(root)} -> {IMAGE.relative_to(REPO)}; "
          f"README: {block.splitlines()[-1]} (whole command {wall:.0f} s with start-up)")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
