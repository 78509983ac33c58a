# Twake Uploader — the two commands of README.md, plus bench and deps.
#   make run    installs what is missing, builds, and starts the desktop app
#   make test   installs what is missing, builds once, runs every test
# The desktop app's own targets (app-run, app-test-*, package, …) are in mk/app.mk.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: run test bench deps rust-deps build lint demo oidc-deps

# Debian packages the workspace needs; each is installed only when missing.
APT_PACKAGES := curl ca-certificates build-essential pkg-config chromium openssl tinyproxy

deps: rust-deps app-deps
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $$missing; \
	fi

rust-deps:
	@command -v $(CARGO) >/dev/null 2>&1 || { \
	  echo "cargo is missing: installing the Rust toolchain with rustup"; \
	  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal && . "$$HOME/.cargo/env"; }

# The OpenID provider and the headless-Chromium sign-in of the sign-in tests (tests/oidc),
# exactly as its package-lock.json says.
oidc-deps: tests/oidc/node_modules/.package-lock.json
tests/oidc/node_modules/.package-lock.json: tests/oidc/package-lock.json
	cd tests/oidc && npm ci --no-audit --no-fund

# The app embeds ui/dist, so the UI is built before the workspace.
build: deps ui-build oidc-deps
	$(CARGO) build --workspace --all-targets --locked

# Rust tests first, then the real browser libraries against the receiver, then the app's UI
# units, the UI in Chromium and the desktop end-to-end test; all always run and the target
# fails if any did.
test: build
	@rc=0; \
	if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --locked --no-fail-fast || rc=1; \
	else \
	  $(CARGO) test --workspace --locked --no-fail-fast || rc=1; \
	fi; \
	TWAKE_UPLOAD_BIN=$(CURDIR)/target/debug/twake-upload tests/browser/run.sh || rc=1; \
	$(MAKE) --no-print-directory app-test-ui || rc=1; \
	$(MAKE) --no-print-directory app-test-browser || rc=1; \
	$(MAKE) --no-print-directory app-test-desktop || rc=1; \
	exit $$rc

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# The desktop app (under Xvfb when there is no display). `make demo` is the command-line
# demo: the receiver on a temp folder and a generated 200 MB file uploaded, then verified.
run: build app-run

demo: build
	@bash scripts/demo.sh target/debug/twake-upload

bench: deps
	@bash scripts/bench.sh
	@bash scripts/bench_link.sh
	@bash scripts/bench_watch.sh
	$(MAKE) --no-print-directory app-bench

include mk/app.mk
