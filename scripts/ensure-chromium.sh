#!/usr/bin/env bash
# The browser tests drive the machine's Chromium (Debian's `chromium` package), and Chinese
# pages need a CJK font to render (Debian's `fonts-noto-cjk`). Install them when we can;
# never fetch a browser build from anywhere else.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
missing=()
[[ -x "$CHROMIUM" ]] || missing+=(chromium)
if command -v dpkg >/dev/null 2>&1 && ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then
    missing+=(fonts-noto-cjk)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: installing Debian's ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [[ -x "$CHROMIUM" ]]; then
        echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null || echo chromium) is ready"
        exit 0
    fi
    echo "ensure-chromium: the chromium package did not provide $CHROMIUM" >&2
    exit 1
fi

if [[ -x "$CHROMIUM" ]]; then
    echo "ensure-chromium: ${missing[*]} missing (Chinese text may render as boxes in screenshots)" >&2
    exit 0
fi

cat >&2 <<MSG
ensure-chromium: $CHROMIUM is missing, and this shell cannot install it (root with apt-get is needed).
  Install your distribution's Chromium package, e.g. as root on Debian or Ubuntu:
      apt-get update && apt-get install chromium fonts-noto-cjk
  The browser tests (tests/e2e) need it.
MSG
exit 1
