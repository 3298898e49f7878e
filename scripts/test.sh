#!/usr/bin/env bash
# The whole test suite, on a fresh Debian/Ubuntu machine or a developer's: installs what is
# missing (Debian's Krita, Xvfb, a venv with the test dependencies), then runs lint, types,
# the tests (widget tests once per Qt binding) and the real-Krita tests.
# Test output (screenshots, logs) goes to test-output/.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(krita python3-pyqt5 xvfb xauth xdotool imagemagick openssl)
if ! dpkg -s "${apt_packages[@]}" >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
# pytest for Krita's own Python (the tests that run inside Krita): pure Python, kept apart from
# the venv so that Krita never sees the venv's PyQt.
if [ ! -d build/krita-site/pytest ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check --target build/krita-site pytest
fi

# Krita 5.3 and 6.0 (Debian sid/experimental) in chroots, for the real-Krita tests; built once
# (about 2-3 minutes each, 1.4 GB) and reused. Needs root; elsewhere those tests are skipped.
# AI_DIFFUSION_KRITA_CHROOTS=0 skips them on purpose.
if [ "${AI_DIFFUSION_KRITA_CHROOTS:-1}" != 0 ] && { [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
  echo "== Krita 5.3 and 6.0 chroots"
  $sudo env KRITA=6 bash scripts/krita-chroot.sh setup >/dev/null
  $sudo env KRITA=5.3 bash scripts/krita-chroot.sh setup >/dev/null
  $sudo env KRITA=6 bash scripts/krita-chroot.sh mount
  $sudo env KRITA=5.3 bash scripts/krita-chroot.sh mount
  trap '$sudo env KRITA=6 bash scripts/krita-chroot.sh umount; $sudo env KRITA=5.3 bash scripts/krita-chroot.sh umount' EXIT
  export AI_DIFFUSION_REQUIRE_KRITAS=1  # from here on, a Krita that is missing fails the run
fi

export QT_QPA_PLATFORM=offscreen
mkdir -p test-output

echo "== lint and types"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy

echo "== tests (widgets under PyQt5, real Krita)"
AI_DIFFUSION_QT=5 PYTEST_QT_API=pyqt5 .venv/bin/python -m pytest "$@"
echo "== widget tests under PyQt6"
AI_DIFFUSION_QT=6 PYTEST_QT_API=pyqt6 .venv/bin/python -m pytest -m widgets "$@"
