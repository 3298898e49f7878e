#!/usr/bin/env bash
# The main job on a fresh Debian/Ubuntu machine: install Krita if missing, build the plugin zip,
# install it into this user's Krita profile, enable it, and start Krita with it.
# Without a display (a server, CI) Krita is started on a virtual screen (Xvfb) and a screenshot
# of it is saved to dist/krita-started.png; pass --no-launch to only build and install.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(krita python3-pyqt5 python3-venv)
[ -n "${DISPLAY:-}" ] || apt_packages+=(xvfb xauth imagemagick)
if ! dpkg -s "${apt_packages[@]}" >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

python3 package.py install

if [ "${1:-}" = "--no-launch" ]; then
  exit 0
fi
if [ -n "${DISPLAY:-}" ]; then
  exec krita --nosplash
fi
echo "no display: starting Krita on a virtual screen for 60 s"
xvfb-run -a -s "-screen 0 1600x1000x24" bash -c '
  krita --nosplash & pid=$!
  sleep 45
  import -window root dist/krita-started.png && echo "screenshot: dist/krita-started.png"
  kill $pid'
