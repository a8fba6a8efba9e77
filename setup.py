"""The package list, found rather than written out: every package under gan_lab/ (a new family's
sub-packages need no edit here), plus the Hydra configs of the top-level conf/ shipped as
gan_lab/conf so that `python -m gan_lab` finds them installed (gan_lab/config.py). Everything
else is in pyproject.toml."""

from setuptools import find_packages, setup


def packages() -> list[str]:
    return [*find_packages(include=["gan_lab", "gan_lab.*"]), "gan_lab.conf"]


if __name__ == "__main__":
    setup(packages=packages(), package_dir={"gan_lab.conf": "conf"})
