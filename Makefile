# Two entry points a new user needs: `make demo` and `make test`.
# Both create the virtual environment on first use (either order works).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo demo-portal test bench install browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) browser

# The portal's browser tests drive Debian's Chromium (packages chromium, chromium-driver). As root
# they are installed here when missing; otherwise this says what to run (the tests skip without
# them, except under CI, where they fail).
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  (apt-get install -y -q chromium chromium-driver >/dev/null || \
	   (apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null)); \
	else echo "note: the browser tests need Chromium: sudo apt-get install chromium chromium-driver"; fi

demo: $(STAMP)
	$(BIN)/vcase demo

# The demo, then the demo victim's portal on http://127.0.0.1:8080 (Ctrl-C stops it).
demo-portal: $(STAMP)
	$(BIN)/vcase demo --portal

# Two workers (the machine has two cores); each test file stays on one worker.
test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
