# The book's two commands: `make book` and `make test`. Both set up .venv on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# A machine without torch gets this CPU build; one that has torch (a GPU box) keeps its own.
TORCH_SPEC ?= torch==2.13.0
TORCH_PIP_ARGS ?=
VENV_FLAGS ?= $(shell $(PYTHON) -c "import torch" >/dev/null 2>&1 && echo --system-site-packages)
MODELS ?= tiny-dolly-small tiny-dolly-medium tiny-dolly-large
# `make book` skips every notebook and the site whose inputs did not change since they were last
# made (dolly_helpers/book/fingerprint.py); FORCE=1 (or `make book-from-scratch`) redoes it all.
FORCE ?=
# Notebooks executed at a time, each in its own kernel.
JOBS ?= 2
FORCE_FLAG := $(if $(filter 1 yes true,$(FORCE)),--force)
# `make test`: one pytest run that holds both the unit tests and nbval, beside the site checks
# (each printed whole when it ends). One run keeps both cores busy to the end: it starts with the
# notebooks that took longest in the last build and fills the gaps with test modules. It runs in
# TEST_JOBS processes (pytest-xdist; a test module or a notebook stays in one of them). Torch runs
# on one thread in each, as the book build's kernels do (dolly_helpers/book/execute.py), so the
# notebooks give the outputs they were stored with.
TEST_JOBS ?= 2
# -rs: every skipped test says why in the summary (no Chromium, no Java, no GPU).
PYTEST := OMP_NUM_THREADS=1 $(BIN)/python -m pytest -p no:cacheprovider -rs
UNITS := tests --ignore=tests/test_site_browser.py --ignore=tests/test_site_html.py
# conftest.py puts the longest notebooks first.
NBVAL := --nbval notebooks --nbval-sanitize-with tests/nbval_sanitize.cfg
OUTPUT_SYNC := $(if $(filter output-sync,$(.FEATURES)),--output-sync=target)
# Where `book site --check` builds (dolly_helpers/book/site.py, CHECK_OUTPUT); the browser test opens it.
SITE_CHECK_HTML := _build/check/_build/html

.PHONY: book book-from-scratch test test-units-and-notebooks test-units test-notebooks test-site bench runs execute site clean-notebooks pile-sources tiny-models install distclean

book: runs execute site  ## Regenerate the outputs whose inputs changed, on the tiny models, and build the site.

book-from-scratch:  ## Execute every notebook and build the site again, changed or not.
	$(MAKE) book FORCE=1

test: $(STAMP)  ## Unit tests, notebook checks (nbval, cleanliness), a site build and a browser pass over it.
	@$(MAKE) --no-print-directory -j2 $(OUTPUT_SYNC) test-units-and-notebooks test-site

test-units-and-notebooks: $(STAMP)  ## The unit tests and nbval in one pytest run.
	$(PYTEST) -n $(TEST_JOBS) --dist loadscope --no-loadscope-reorder $(NBVAL) $(UNITS) -q

test-units: $(STAMP)  ## The unit tests alone.
	$(PYTEST) -n $(TEST_JOBS) --dist loadscope $(UNITS)

test-notebooks: $(STAMP)  ## nbval alone: every chapter executed again and compared with its committed outputs.
	$(PYTEST) -n $(TEST_JOBS) --dist loadscope --no-loadscope-reorder $(NBVAL) -q

test-site: $(STAMP)  ## Clean notebooks, a fresh site build that fails on warnings, a browser pass over it.
	$(BIN)/python -m dolly_helpers.book check-clean
	$(BIN)/python -m dolly_helpers.book site --check
	DOLLY_SITE_HTML=$(SITE_CHECK_HTML) $(PYTEST) tests/test_site_browser.py tests/test_site_html.py

install: $(STAMP)

bench: $(STAMP)  ## The speed ladder on the tiny models, against Dolly's own pipeline behaviour, side by side.
	$(BIN)/python -m dolly_helpers.bench cpu

runs: $(STAMP)  ## Execute the per-size chapters once per model into runs/.
	$(BIN)/python -m dolly_helpers.book run --models $(MODELS) $(FORCE_FLAG)

execute: $(STAMP)  ## Execute the chapters whose inputs changed in place on the default model, then clean them.
	$(BIN)/python -m dolly_helpers.book execute --jobs $(JOBS) $(FORCE_FLAG)

site: $(STAMP)  ## Build the static HTML site into _build/html (fetches its JavaScript once with npm).
	$(BIN)/python -m dolly_helpers.book site $(FORCE_FLAG)

clean-notebooks: $(STAMP)
	$(BIN)/python -m dolly_helpers.book clean

# The Debian packages the mini-Pile is read from (only retraining needs them).
PILE_PACKAGES := bible-kjv-text bible-kjv wordnet-base python3-doc

pile-sources:  ## Install the mini-Pile's Debian sources (as root).
	apt-get install -y -qq --no-install-recommends $(PILE_PACKAGES)

tiny-models: $(STAMP)  ## Build the mini-Pile, pretrain the tiny Pythia suite, tune the tiny Dolly family, score them.
	$(BIN)/python -m dolly_helpers.pile build
	$(BIN)/python -m dolly_helpers.tiny train
	$(BIN)/python -m dolly_helpers.tiny evaluate --write

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV_FLAGS) $(VENV)
	$(BIN)/python -c "import torch" >/dev/null 2>&1 || $(BIN)/python -m pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	touch $@

distclean:
	rm -rf $(VENV) _build .cache
