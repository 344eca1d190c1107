# Every target that runs code first builds .venv from the pins (pyproject.toml + constraints.txt).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
PY := $(VENV)/bin/python

.PHONY: test demo lab instructor-lab release normalise solutions lock clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

test: $(VENV)/.installed  ## run the whole test suite
	bash .ci/system-packages bubblewrap chromium postgresql
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

demo: $(VENV)/.installed  ## regenerate release/, build and grade the demo class, print the table
	bash .ci/system-packages bubblewrap
	$(PY) -m autograder demo

lab: $(VENV)/.installed  ## the student notebooks (release/) in a student's JupyterLab
	JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter/student $(VENV)/bin/jupyter lab --ServerApp.root_dir=release

instructor-lab: $(VENV)/.installed  ## the whole course in JupyterLab with nbgrader's instructor tools
	$(VENV)/bin/jupyter lab

release: $(VENV)/.installed  ## regenerate release/ from source/ with nbgrader
	$(PY) -m autograder release

normalise: $(VENV)/.installed  ## store source notebooks without outputs, in stable form
	$(PY) -m autograder normalise

solutions: $(VENV)/.installed  ## run every source notebook, write the worked-solutions site
	$(PY) -m autograder solutions

lock: $(VENV)/.installed  ## re-record every installed version into constraints.txt
	$(PY) -m pip freeze --exclude-editable | sed 's/+cpu$$//' > constraints.txt

clean:
	rm -rf $(VENV) build submitted autograded feedback graded gradebook.db
