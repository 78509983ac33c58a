# The desktop app (issue 5): Tauri shell in src-tauri/, web UI in ui/. Included by the root
# Makefile. Every target works without a display: tests start their own Xvfb.

APP_TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
APP_BIN := $(APP_TARGET_DIR)/debug/twake-uploader
APP_CLI_BIN := $(APP_TARGET_DIR)/debug/twake-upload
APP_UI := ui
APP_TAURI := $(CURDIR)/$(APP_UI)/node_modules/.bin/tauri
# WebKitGTK and friends to build and run, Xvfb and the WebKit driver for tests, Chromium
# for the UI tests, ImageMagick for screenshots; plus dbus-daemon (the desktop
# test's private session bus), xdg-utils ("Show in folder") and desktop-file-utils (the
# package test validates the menu entries).
APP_APT_PACKAGES := libwebkit2gtk-4.1-dev build-essential curl wget file libxdo-dev \
	libssl-dev libayatana-appindicator3-dev librsvg2-dev pkg-config xvfb xauth \
	webkit2gtk-driver chromium imagemagick x11-utils dbus-daemon xdg-utils desktop-file-utils
# `make package` only: rpmbuild for the .rpm (the .deb needs only dpkg-deb).
PACKAGE_APT_PACKAGES := rpm
PACKAGE_OUT := $(APP_TARGET_DIR)/package

.PHONY: app-deps ui-deps ui-build ui-types app-build app-run app-test app-test-ui \
	app-test-rust app-test-browser app-test-desktop app-screenshots app-bench package \
	package-check

# Installs those of the Debian packages $(1) that are missing.
define apt_missing
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get -o DPkg::Lock::Timeout=600 update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=600 \
			--no-install-recommends $$missing; \
	fi
endef

## System packages (only those missing) and tauri-driver.
app-deps:
	$(call apt_missing,$(APP_APT_PACKAGES))
	@command -v tauri-driver >/dev/null || cargo install tauri-driver --locked

## The UI's npm packages, exactly as package-lock.json says.
ui-deps: $(APP_UI)/node_modules/.package-lock.json
$(APP_UI)/node_modules/.package-lock.json: $(APP_UI)/package-lock.json
	cd $(APP_UI) && npm ci --no-audit --no-fund

## The UI the app embeds (ui/dist) and the test harness page (ui/dist-harness).
ui-build: ui-deps
	cd $(APP_UI) && npx vite build --logLevel warn && npx vite build --mode harness --logLevel warn

## Regenerates ui/src/generated/ from the Rust types (commit the result).
ui-types:
	UPDATE_TS_TYPES=1 cargo test -p twake-uploader-app ts_export

## The app (embeds ui/dist, so the UI is built first) and the CLI the desktop test serves with.
## The same build as `make build`: building fewer packages would unify features differently
## and compile the engine and the Tauri crates a second time.
app-build: ui-build
	cargo build --workspace --all-targets --locked

## Runs the app on the display, or under Xvfb when there is none. ARGS="file …" queues files.
app-run: app-build
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then $(APP_BIN) $(ARGS); \
	else echo "no display: running under Xvfb"; xvfb-run -a $(APP_BIN) $(ARGS); fi

## All app tests: UI units, shell units, the UI in Chromium, the desktop end-to-end.
app-test: app-test-ui app-test-rust app-test-browser app-test-desktop

app-test-ui: ui-deps
	cd $(APP_UI) && npx svelte-check --tsconfig ./tsconfig.json --fail-on-warnings
	cd $(APP_UI) && npx vitest run

app-test-rust:
	cargo test -p twake-uploader-app

app-test-browser: ui-build
	cd $(APP_UI) && npm run --silent test:browser

app-test-desktop: app-build oidc-deps
	cd $(APP_UI) && APP_BIN=$(APP_BIN) RECEIVER_BIN=$(APP_CLI_BIN) npm run --silent test:desktop

## Runs the desktop test and keeps its screenshots for the docs, plus the dark theme.
app-screenshots: app-build oidc-deps
	cd $(APP_UI) && SCREENSHOT_DIR=$(CURDIR)/docs/screenshots APP_BIN=$(APP_BIN) \
		RECEIVER_BIN=$(APP_CLI_BIN) npm run --silent test:desktop
	cd $(APP_UI) && node tests/screens.mjs $(CURDIR)/docs/screenshots/dark.png

## Scroll frame time (10,000 rows) and launch time; figures in target/app-bench.txt.
app-bench: app-build
	cd $(APP_UI) && APP_BIN=$(APP_BIN) node tests/bench/run.mjs $(APP_TARGET_DIR)/app-bench.txt

## A .deb and an .rpm in target/package/ (release build: several minutes): the app, the CLI,
## its man pages and completions (generated from its clap definition), the menu, "Open
## with" and "Send to" entries; exactly the files of src-tauri/packaging/manifest.tsv.
package: ui-build
	$(call apt_missing,$(PACKAGE_APT_PACKAGES))
	cd src-tauri && $(APP_TAURI) build --no-bundle
	cargo build --release --locked -p twake-upload
	rm -rf $(PACKAGE_OUT) && mkdir -p $(PACKAGE_OUT)
	$(APP_TARGET_DIR)/release/twake-upload generate-docs $(PACKAGE_OUT)/gen >/dev/null
	bash scripts/package.sh $(APP_TARGET_DIR)/release $(PACKAGE_OUT)/gen $(PACKAGE_OUT) deb rpm

## Checks the packages `make package` built, file by file (tests/tests/package.rs).
package-check:
	@deb=$$(ls $(PACKAGE_OUT)/*.deb 2>/dev/null | head -1); rpm=$$(ls $(PACKAGE_OUT)/*.rpm 2>/dev/null | head -1); \
	if [ -z "$$deb" ] || [ -z "$$rpm" ]; then echo "no packages in $(PACKAGE_OUT): run make package first"; exit 1; fi; \
	cargo build --workspace --all-targets --locked && \
	PACKAGE_DEB=$$deb PACKAGE_RPM=$$rpm cargo nextest run --workspace --locked -E 'binary(package)'
