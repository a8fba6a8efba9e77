"""docs/readme_numbers.py (`make readme-numbers`): the README's block between its markers is
rewritten and nothing else; the README holds one such block with a done line, and the picture.
The real run (the default, minutes) is not repeated here."""

from __future__ import annotations

import runpy

import pytest
from PIL import Image

from tests.conftest import REPO

NUMBERS = runpy.run_path(str(REPO / "docs" / "readme_numbers.py"))
BEGIN, END = NUMBERS["BEGIN"], NUMBERS["END"]


def test_the_block_between_the_markers_is_replaced_and_nothing_else():
    text = f"before\n{BEGIN}\nold line\nold too\n{END}\nafter\n"
    assert NUMBERS["replace_block"](text, "new\n") == f"before\n{BEGIN}\nnew\n{END}\nafter\n"
    twice = NUMBERS["replace_block"](NUMBERS["replace_block"](text, "new"), "new")
    assert twice == f"before\n{BEGIN}\nnew\n{END}\nafter\n"  # a rerun changes only the numbers


@pytest.mark.parametrize("text", ["no markers", f"{BEGIN} {BEGIN} {END}", f"{END} x {BEGIN}"])
def test_markers_missing_doubled_or_reversed_are_refused(text):
    with pytest.raises(ValueError):
        NUMBERS["replace_block"](text, "new")


def test_the_timing_block_names_rate_machine_load_and_command():
    done = "gan_lab: done, iteration 2000 in 3m05s; outputs in /tmp/x/default"
    block = NUMBERS["timing_block"](done, 2000, 185.0, 2, 1.23, "2026-12-08")
    assert block.splitlines()[0] == f"`{done}`"
    assert "10.8 iterations/s on 2 CPU cores" in block
    assert "load average 1.2" in block and "2026-12-08" in block
    assert "`python -m gan_lab hydra.run.dir=default`" in block
    assert NUMBERS["DONE_LINE"].fullmatch(done)


def test_the_readme_holds_one_block_with_a_done_line_and_the_picture():
    readme = (REPO / "README.md").read_text()
    assert readme.count(BEGIN) == 1 and readme.count(END) == 1
    block = readme.split(BEGIN)[1].split(END)[0]
    assert NUMBERS["DONE_LINE"].search(block.replace("`", "\n")), block
    image = NUMBERS["IMAGE"]
    assert f"]({image.relative_to(REPO).as_posix()})" in readme
    with Image.open(image) as picture:  # the sample grid, enlarged by a whole factor
        assert all(side % NUMBERS["ENLARGE"] == 0 for side in picture.size)
