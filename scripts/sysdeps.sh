#!/usr/bin/env bash
# Install the system libraries checkpoint needs, with apt-get, only when they are missing.
#   scripts/sysdeps.sh            runtime: libzbar0 (QR decoding), fonts for pass cards and reports
#                                 (Droid Sans Fallback for Chinese, DejaVu Sans for Latin and digits)
#   scripts/sysdeps.sh --test     also poppler-utils (pdftoppm renders PDFs in the tests)
set -euo pipefail

need=()
have_lib() { ldconfig -p 2>/dev/null | grep -F "$1" >/dev/null; }  # not grep -q: under pipefail, SIGPIPE would fail it
have_lib 'libzbar.so.0' || need+=(libzbar0)
[ -e /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf ] || need+=(fonts-droid-fallback)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ "${1:-}" = "--test" ]; then
  command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
fi
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo"
else
  echo "checkpoint needs the system packages ${need[*]}: install them with 'sudo apt-get install ${need[*]}' and run make again." >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "checkpoint needs ${need[*]} (the ZBar library, a CJK font, pdftoppm); this system has no apt-get, so install them with its package manager." >&2
  exit 1
fi
echo "Installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
