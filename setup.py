"""The package list, found rather than written out: every package under gan_lab/ (a new family's
sub-packages need no edit here), plus the Hydra configs of the top-level conf/ shipped as
gan_lab/conf so that `python -m gan_lab` finds them installed (gan_lab/config.py). Everything
else is in pyproject.toml."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent


def config_packages() -> list[str]:
    """gan_lab.conf and one package per conf/ folder that holds configs (gan_lab.conf.loss, ...).

    Each folder is declared as a package of its own, not left as data under gan_lab.conf:
    setuptools reads a folder with an identifier's name as an importable sub-package and warns
    once per undeclared one ("Package would be ignored", 40 lines each, 13 folders)."""
    folders = {path.parent.relative_to(HERE / "conf") for path in (HERE / "conf").rglob("*.yaml")}
    return sorted(".".join(("gan_lab", "conf", *folder.parts)) for folder in folders)


def packages() -> list[str]:
    return [*find_packages(where=str(HERE), include=["gan_lab", "gan_lab.*"]), *config_packages()]


if __name__ == "__main__":
    # package_dir maps gan_lab.conf to conf/; its sub-packages follow by path (conf/loss, ...).
    setup(packages=packages(), package_dir={"gan_lab.conf": "conf"},
          package_data={name: ["*.yaml"] for name in config_packages()})
