#!/bin/bash
# The real Krita 5.3 and 6.0 the test suite runs the plugin in (scripts/test.sh calls it).
# Builds a Debian sid chroot holding a real Krita 6 (Qt 6, PyQt6, from Debian experimental) or
# Krita 5.3 (Qt 5, PyQt5, from sid), and checks that kritarunner runs Python in it headless.
# Only Debian's own package registry is used. Run as root on Debian 12 (or newer). Idempotent:
# a second run reuses the chroot and the packages and only re-runs the check (10-30 s).
#
#   sid-chroot.sh [setup]        debootstrap (if needed), install, check (default)
#   sid-chroot.sh check          kritarunner smoke test only; prints JSON, exit 1 if it failed
#   sid-chroot.sh exec CMD...    run CMD inside the chroot (mounts around it), e.g.
#                                sid-chroot.sh exec env QT_QPA_PLATFORM=offscreen kritarunner --help
#   sid-chroot.sh mount|umount   mount/unmount proc, sys, dev, dev/pts and the /tmp bind
#
# Environment: KRITA=6 (default) or 5.3; ROOT (default /opt/sid-root for 6, /opt/sid53-root for
# 5.3); MIRROR (default http://deb.debian.org/debian); KEEP_MOUNTS=1 leaves the mounts in place
# (mounts that existed before a command are always left in place).
# /tmp is bind-mounted, so files and X sockets under /tmp have the same path inside and outside.
set -euo pipefail

KRITA=${KRITA:-6}
case "$KRITA" in
  6) ROOT=${ROOT:-/opt/sid-root}
     PKGS="krita/experimental krita-data/experimental python3-pyqt6 qt6-svg-plugins xvfb xauth imagemagick"
     PYQT=PyQt6 ;;
  5.3) ROOT=${ROOT:-/opt/sid53-root}
     PKGS="krita krita-data python3-pyqt5 xvfb xauth imagemagick"
     PYQT=PyQt5 ;;
  *) echo "KRITA must be 6 or 5.3" >&2; exit 2 ;;
esac
MIRROR=${MIRROR:-http://deb.debian.org/debian}
MOUNTS="proc sys dev dev/pts tmp"

log() { echo "[sid-chroot $(date +%T)] $*" >&2; }

do_mount() {
  mountpoint -q "$ROOT/proc"    || mount -t proc proc "$ROOT/proc"
  mountpoint -q "$ROOT/sys"     || mount -t sysfs sys "$ROOT/sys"
  mountpoint -q "$ROOT/dev"     || mount --bind /dev "$ROOT/dev"
  mountpoint -q "$ROOT/dev/pts" || mount --bind /dev/pts "$ROOT/dev/pts"
  mountpoint -q "$ROOT/tmp"     || mount --bind /tmp "$ROOT/tmp"
}

do_umount() {
  local m
  for m in tmp dev/pts dev sys proc; do
    if mountpoint -q "$ROOT/$m" 2>/dev/null; then umount "$ROOT/$m" || umount -l "$ROOT/$m"; fi
  done
}

mounted_any() { grep -q " $ROOT/" /proc/mounts; }

# mount for this command; unmount at exit only if nothing was mounted before (and no KEEP_MOUNTS)
mount_scoped() {
  if mounted_any || [ -n "${KEEP_MOUNTS:-}" ]; then do_mount; else do_mount; trap do_umount EXIT; fi
}

in_root() { chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

bootstrap() {
  if [ -f "$ROOT/.sid-chroot-bootstrapped" ]; then return; fi
  if [ -e "$ROOT" ]; then
    # a half-finished debootstrap: remove it, but never while something is mounted inside
    mounted_any && { echo "$ROOT is incomplete and has mounts; run: $0 umount" >&2; exit 1; }
    rm -rf --one-file-system "$ROOT"
  fi
  command -v debootstrap >/dev/null || {
    log "installing debootstrap on the host"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  log "debootstrap --variant=minbase sid $ROOT (about 40 s, 225 MB)"
  debootstrap --variant=minbase sid "$ROOT" "$MIRROR" >"/tmp/sid-chroot-debootstrap.log" 2>&1 || {
    tail -20 /tmp/sid-chroot-debootstrap.log >&2; exit 1; }
  touch "$ROOT/.sid-chroot-bootstrapped"
}

configure() {
  echo "deb $MIRROR sid main" >"$ROOT/etc/apt/sources.list"
  echo "deb $MIRROR experimental main" >"$ROOT/etc/apt/sources.list.d/experimental.list"
  # Check-Valid-Until: a frozen mirror/snapshot has an expired Release file; harmless elsewhere
  cat >"$ROOT/etc/apt/apt.conf.d/99sid-chroot" <<'EOF'
Acquire::Check-Valid-Until "false";
Acquire::Languages "none";
APT::Install-Recommends "false";
EOF
  printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"; chmod +x "$ROOT/usr/sbin/policy-rc.d"
  cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
}

installed_ok() {
  local v
  v=$(in_root dpkg-query -W -f '${Version}' krita 2>/dev/null) || return 1
  case "$KRITA:$v" in 6:1:6.*|5.3:1:5.3.*) ;; *) return 1 ;; esac
  in_root dpkg -s "python3-$(echo "$PYQT" | tr 'A-Z' 'a-z')" xvfb xauth imagemagick >/dev/null 2>&1
}

install_krita() {
  if installed_ok; then log "krita $KRITA already installed"; return; fi
  log "apt-get update"
  in_root apt-get update -qq
  log "apt-get install $PKGS (about 470 packages, 365 MB download)"
  # --allow-downgrades: switching an existing chroot from 6 to 5.3
  in_root apt-get install -y -q --allow-downgrades $PKGS >"/tmp/sid-chroot-install.log" 2>&1 || {
    tail -20 /tmp/sid-chroot-install.log >&2; exit 1; }
  in_root apt-get clean
}

check() {
  local d out
  d=$(mktemp -d /tmp/sid-chroot-check.XXXX)
  mkdir -p "$d/mod" "$d/run"; chmod 700 "$d/run"
  out="$d/result.json"
  cat >"$d/mod/sid_chroot_check.py" <<EOF
import json, os, sys, traceback
def main(args):
    r = {}
    try:
        import pykrita
        from krita import Krita
        from $PYQT import QtCore
        r["krita"] = Krita.instance().version()
        r["qt"] = QtCore.qVersion()
        r["pyqt"] = QtCore.PYQT_VERSION_STR
        r["qt_major_version"] = pykrita.qt_major_version()
        r["python"] = sys.version.split()[0]
        other = "PyQt5" if "$PYQT" == "PyQt6" else "PyQt6"
        try:
            __import__(other); r["import_" + other] = "imported"
        except Exception as e:
            r["import_" + other] = type(e).__name__ + ": " + str(e)
        doc = Krita.instance().createDocument(64, 32, "check", "RGBA", "U8", "", 72.0)
        r["document"] = [doc.width(), doc.height()]
        doc.close()
        r["ok"] = True
    except Exception:
        r["ok"] = False
        r["error"] = traceback.format_exc()
    json.dump(r, open("$out", "w"), indent=1)
    os._exit(0 if r["ok"] else 1)
EOF
  # kritarunner exits 0 even when the module is missing or raises: trust the result file only
  timeout -k 10 180 chroot "$ROOT" env -i PATH=/usr/bin:/bin LANG=C.UTF-8 \
    HOME="$d" XDG_CONFIG_HOME="$d/.config" XDG_DATA_HOME="$d/.local/share" \
    XDG_CACHE_HOME="$d/.cache" XDG_RUNTIME_DIR="$d/run" TMPDIR="$d" QT_QPA_PLATFORM=offscreen \
    PYTHONPATH="$d/mod" kritarunner -s sid_chroot_check -f main >"$d/kritarunner.log" 2>&1 || true
  if [ -s "$out" ] && grep -q '"ok": true' "$out"; then
    cat "$out"; rm -rf "$d"; return 0
  fi
  cat "$out" 2>/dev/null; tail -20 "$d/kritarunner.log" >&2
  echo "kritarunner check failed; log in $d" >&2
  return 1
}

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
cmd=${1:-setup}; [ $# -gt 0 ] && shift
case "$cmd" in
  setup)
    bootstrap
    configure
    mount_scoped
    install_krita
    log "kritarunner check"
    check ;;
  check)
    mount_scoped
    check ;;
  exec)
    mount_scoped
    chroot "$ROOT" "$@" ;;
  mount) do_mount ;;
  umount) do_umount ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
