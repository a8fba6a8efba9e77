# gan_lab: `make train` runs the embedded default, `make test` the test suite.
# `make lint` runs ruff check (the CI runs both). All create .venv on first use (only Python is
# needed on the machine). `make readme-numbers` reruns the default and rewrites the README's
# picture and timing line from it (docs/readme_numbers.py).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# Pins a torch/torchvision pair that loads together and the versions CI tested (see README,
# Installation).
CONSTRAINTS := constraints.txt
# The suite runs on two worker processes (pytest-xdist): the tests are independent (each in its
# own tmp_path, DDP on a free port), and 2 cores halve its time. PYTEST_ARGS= runs it serially.
PYTEST_ARGS ?= -n 2
# A package index with other torch builds, searched besides the usual ones, e.g. PyTorch's
# CPU-only wheels (no CUDA libraries: ~1.5 GB of .venv instead of ~6 GB, see README,
# Installation notes): make clean install TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# Empty (the default): the registry's torch, which runs on CPU and GPU alike. It is read only
# when .venv is created, hence `make clean` first.
TORCH_INDEX_URL ?=
TORCH_INDEX := $(if $(strip $(TORCH_INDEX_URL)),--extra-index-url $(strip $(TORCH_INDEX_URL)))

.PHONY: install train test lint clean readme-numbers

$(VENV)/.installed: pyproject.toml setup.py $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) $(TORCH_INDEX) -e ".[dev]"
	touch $@

install: $(VENV)/.installed

train: install
	$(PY) -m gan_lab $(ARGS)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

# The default run (about 3 minutes on 2 idle cores) redraws docs/default_digits_iter2000.png and
# the README's timing line, so that neither can drift from what the code does.
readme-numbers: install
	$(PY) docs/readme_numbers.py

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache

# Fashion-MNIST from Debian (data=fashion_mnist finds it there); needs apt (and sudo unless root).
.PHONY: fashion-mnist
fashion-mnist:
	@SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); $$SUDO apt-get install -y dataset-fashion-mnist
	@echo "Fashion-MNIST files (used by data=fashion_mnist):"
	@dpkg -L dataset-fashion-mnist | grep -- '-ubyte'
