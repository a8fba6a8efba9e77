"""The package list, found rather than written out: every package under gan_lab/ (a new family's
sub-packages need no edit here), plus the Hydra configs of the top-level conf/ shipped as
gan_lab/conf so that `python -m gan_lab` finds them installed (gan_lab/config.py). Everything
else is in pyproject.toml.

gan_lab/conf is a symbolic link to ../conf, committed in git, so every package lies where its
name says (gan_lab.conf.loss in gan_lab/conf/loss) and no package_dir has to map conf/ in. With
that "simple layout" an editable install (`make install`) is one .pth file naming the checkout,
quietly; a mapped folder made setuptools fall back to an import hook and print its
"Editable installation" BuildBackendWarning on every install. A wheel or an sdist holds real
files under gan_lab/conf (setuptools copies through the link), so neither needs the link."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
# The link in a checkout, a plain folder in an unpacked sdist (which has no top-level conf/).
CONF = HERE / "gan_lab" / "conf"


def config_packages() -> list[str]:
    """gan_lab.conf and one package per conf/ folder that holds configs (gan_lab.conf.loss, ...).

    Each folder is declared as a package of its own, not left as data under gan_lab.conf:
    setuptools reads a folder with an identifier's name as an importable sub-package and warns
    once per undeclared one ("Package would be ignored", 40 lines each, 13 folders)."""
    if not (CONF / "config.yaml").is_file():
        raise SystemExit(f"{CONF} holds no config.yaml: it should be a link to ../conf "
                         "(git checks links out as text files where core.symlinks is false)")
    folders = {path.parent.relative_to(CONF) for path in CONF.rglob("*.yaml")}
    return sorted(".".join(("gan_lab", "conf", *folder.parts)) for folder in folders)


def packages() -> list[str]:
    return [*find_packages(where=str(HERE), include=["gan_lab", "gan_lab.*"]), *config_packages()]


if __name__ == "__main__":
    # package_dir {"": "."} (the checkout's root holds the packages) is what setuptools asks for
    # to pick the .pth strategy for an editable install; without it, even this layout gets the
    # import hook and its warning.
    setup(packages=packages(), package_dir={"": "."},
          package_data={name: ["*.yaml"] for name in config_packages()})
