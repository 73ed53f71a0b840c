# Both targets build their own virtual environment from scratch (python3 -m venv) and
# install the project with pip: nothing needs to be installed by hand beforehand.
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
INTEROP := tests/interop

.PHONY: demo test lint typecheck bench clean browser screenshots messages

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/certreg demo

# Digital Bazaar's JavaScript stack for tests/product/test_interop_js.py, from the lock file.
# Without npm the interop tests skip themselves (and say so).
$(INTEROP)/node_modules/.package-lock.json: $(INTEROP)/package.json $(INTEROP)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --prefix $(INTEROP); \
	else echo "npm not found: the interop tests will be skipped"; fi

# Debian's Chromium and ChromeDriver for the browser tests (tests/product/test_browser.py), and
# poppler-utils (pdftoppm, pdftotext) for the printed certificate's layout test
# (tests/register/test_pdf_layout.py). Installed only when missing and when we may (root, apt-get
# present); otherwise those tests say why they cannot run.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 \
		&& command -v pdftoppm >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver poppler-utils >/dev/null; \
	else echo "chromium or poppler-utils not installed and not root: the browser and PDF layout tests will be skipped"; fi

test: lint typecheck $(INTEROP)/node_modules/.package-lock.json browser
	$(BIN)/pytest

# The rules that check themselves: style, the layering contracts of docs/architecture.md
# ([tool.importlinter] in pyproject.toml) and types.
lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# mypy checks the installed names (certreg.*); it cannot follow setuptools' editable-install
# finder, so the folders are linked under build/typecheck/certreg/ first.
typecheck: $(BIN)/.installed
	rm -rf build/typecheck && mkdir -p build/typecheck/certreg
	for p in issuer verifier register keys contexts i18n witness; do ln -s ../../../$$p build/typecheck/certreg/$$p; done
	cd build/typecheck && ../../$(BIN)/mypy --config-file ../../pyproject.toml -p certreg

# The screenshots in docs/: the console's (docs/images/console/, docs/console.md), taken by its
# browser tests, and the public pages' in English and German (docs/images/public/,
# docs/holder.md and docs/register.md), taken by the accessibility tests; made small by
# docs/images/shrink.py.
PUBLIC_SHOTS := home-with-results-en home-with-results-de valid-certificate-en \
	valid-certificate-de suspended-certificate-es verify-result-en verify-result-de \
	share-page-en share-page-de
screenshots: $(BIN)/.installed browser
	rm -rf build/screenshots build/screenshots-public
	CERTREG_SCREENSHOTS=build/screenshots $(BIN)/pytest -q tests/issuer/console/test_console_browser.py
	$(BIN)/python docs/images/shrink.py build/screenshots docs/images/console
	CERTREG_SCREENSHOTS=build/screenshots-public $(BIN)/pytest -q tests/product/test_accessibility.py
	$(BIN)/python docs/images/shrink.py build/screenshots-public docs/images/public $(PUBLIC_SHOTS)

# Extract the messages of the public pages, the verifier's summary and the mails, and merge them
# into every language's catalog (i18n/locale/): then translate what is new or fuzzy. The tests
# fail while a catalog misses a message (tests/i18n/test_catalogs.py). It also tells git where
# the catalogs' merge driver is (.gitattributes; docs/languages.md).
messages: $(BIN)/.installed
	@if [ -e .git ]; then git config merge.po.name "gettext catalogs, by message"; \
	git config merge.po.driver "$(BIN)/python -m certreg.i18n.catalogs merge %O %A %B"; fi
	$(BIN)/python -m certreg.i18n.catalogs update
	$(BIN)/python -m certreg.i18n.catalogs check || true

bench: $(BIN)/.installed
	$(BIN)/python bench/bench_proofs.py

clean:
	rm -rf $(VENV) build *.egg-info $(INTEROP)/node_modules
