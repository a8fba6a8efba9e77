# gan_lab: `make train` runs the embedded default, `make test` the test suite.
# `make lint` runs ruff check (the CI runs both). All create .venv on first use (only Python is
# needed on the machine).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# Pins a torch/torchvision pair that loads together and the versions CI tested (see README,
# Installation).
CONSTRAINTS := constraints.txt
# The suite runs on two worker processes (pytest-xdist): the tests are independent (each in its
# own tmp_path, DDP on a free port), and 2 cores halve its time. PYTEST_ARGS= runs it serially.
PYTEST_ARGS ?= -n 2

.PHONY: install train test lint clean

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e ".[dev]"
	touch $@

install: $(VENV)/.installed

train: install
	$(PY) -m gan_lab $(ARGS)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache

# Fashion-MNIST from Debian (data=fashion_mnist finds it there); needs apt (and sudo unless root).
.PHONY: fashion-mnist
fashion-mnist:
	@SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); $$SUDO apt-get install -y dataset-fashion-mnist
	@echo "Fashion-MNIST files (used by data=fashion_mnist):"
	@dpkg -L dataset-fashion-mnist | grep -- '-ubyte'
