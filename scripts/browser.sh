#!/usr/bin/env bash
# Prints the path of a Chromium or Chrome for the end-to-end test, installing
# one if the machine has none. What it does goes to stderr; only the path to
# stdout:
#
#   CHROMIUM_PATH=$(scripts/browser.sh)
#
# In order:
#   1. CHROME_PATH (or CHROMIUM_PATH), if set: used as it is, or an error;
#   2. a browser already on the machine: chromium, chromium-browser,
#      google-chrome, google-chrome-stable on PATH, in /usr/bin or /snap/bin,
#      Google Chrome.app or Chromium.app on macOS, or one that Playwright
#      installed before (its cache);
#   3. Debian's or Ubuntu's `chromium` package, with apt-get, when running as root;
#   4. Playwright's own build (`npx playwright-core install chromium`, the
#      playwright-core version in frontend/package-lock.json), into
#      Playwright's cache in the home folder. It downloads from Playwright's
#      servers, so it needs that network.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "browser: $*" >&2; }

# A browser that starts and tells its version (Ubuntu's chromium-browser can be
# a stub that only says to install the snap).
works() {
  local version
  [ -n "$1" ] && [ -x "$1" ] && [ ! -d "$1" ] || return 1
  version=$("$1" --version 2>/dev/null) || return 1
  case "$version" in *[Cc]hrom*) return 0 ;; *) return 1 ;; esac
}

found() {
  say "using $1 ($("$1" --version 2>/dev/null))"
  echo "$1"
  exit 0
}

override="${CHROME_PATH:-${CHROMIUM_PATH:-}}"
if [ -n "$override" ]; then
  if works "$override"; then found "$override"; fi
  say "CHROME_PATH=$override is not a working Chromium or Chrome"
  exit 1
fi

candidates=()
for name in chromium chromium-browser google-chrome google-chrome-stable; do
  if path=$(command -v "$name" 2>/dev/null); then candidates+=("$path"); fi
done
candidates+=(
  /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome /usr/bin/google-chrome-stable
  /snap/bin/chromium
  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"
  "/Applications/Chromium.app/Contents/MacOS/Chromium"
  "$HOME/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"
  "$HOME/Applications/Chromium.app/Contents/MacOS/Chromium"
)
for path in "${candidates[@]}"; do
  if works "$path"; then found "$path"; fi
done

playwright_chromium() { # the path where Playwright keeps (or would keep) its Chromium
  (cd frontend && node -e "console.log(require('playwright-core').chromium.executablePath())") 2>/dev/null
}
if [ -d frontend/node_modules/playwright-core ]; then
  path=$(playwright_chromium || true)
  if works "$path"; then found "$path"; fi
fi

say "no Chromium or Chrome on this machine (set CHROME_PATH to use one elsewhere)"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing Debian's chromium: apt-get update && apt-get install -y --no-install-recommends chromium"
  export DEBIAN_FRONTEND=noninteractive
  log=$(mktemp)
  if apt-get update -qq >"$log" 2>&1 && apt-get install -y -qq --no-install-recommends chromium >>"$log" 2>&1; then
    rm -f "$log"
    for path in /usr/bin/chromium "$(command -v chromium 2>/dev/null || true)"; do
      if works "$path"; then found "$path"; fi
    done
  else
    tail -n 20 "$log" >&2
    rm -f "$log"
  fi
  say "apt-get could not install a working chromium; trying Playwright's installer"
fi

if [ ! -d frontend/node_modules/playwright-core ]; then
  say "frontend/node_modules is missing: run make node first"
  exit 1
fi
say "installing Playwright's Chromium: npx playwright-core install chromium (a download of about 150 MB into Playwright's cache)"
if (cd frontend && npx --no-install playwright-core install chromium >&2); then
  path=$(playwright_chromium || true)
  if works "$path"; then found "$path"; fi
fi
say "could not find or install a browser. Install Chromium or Chrome (apt-get install chromium, brew install --cask chromium) or set CHROME_PATH"
exit 1
