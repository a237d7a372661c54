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
# Where `book site --check` builds (dolly_helpers/book/site.py, CHECK_OUTPUT); the browser test opens it.
SITE_CHECK_HTML := _build/check/_build/html

.PHONY: book test bench runs execute site clean-notebooks pile-sources tiny-models install distclean

book: runs execute site  ## Regenerate every output on the tiny models and build the site.

test: $(STAMP)  ## Unit tests, notebook checks (nbval, cleanliness), a site build and a browser pass over it.
	$(BIN)/python -m pytest tests --ignore=tests/test_site_browser.py --ignore=tests/test_site_html.py
	$(BIN)/python -m pytest -p dolly_helpers.book.nbval_plugin --nbval notebooks --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider -q
	$(BIN)/python -m dolly_helpers.book check-clean
	$(BIN)/python -m dolly_helpers.book site --check
	DOLLY_SITE_HTML=$(SITE_CHECK_HTML) $(BIN)/python -m pytest tests/test_site_browser.py tests/test_site_html.py -p no:cacheprovider

install: $(STAMP)

bench: $(STAMP)  ## Time the helper against the plain transformers pipeline, side by side.
	$(BIN)/python -m dolly_helpers.bench cpu

runs: $(STAMP)  ## Execute the per-size chapters once per model into runs/.
	$(BIN)/python -m dolly_helpers.book run --models $(MODELS)

execute: $(STAMP)  ## Execute the committed chapters in place on the default model, then clean them.
	$(BIN)/python -m dolly_helpers.book execute

site: $(STAMP)  ## Build the static HTML site into _build/html (fetches its JavaScript once with npm).
	$(BIN)/python -m dolly_helpers.book site

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
