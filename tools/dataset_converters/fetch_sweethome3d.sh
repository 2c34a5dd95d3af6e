#!/usr/bin/env bash
# Fetch the real meshes of the demo: Debian's sweethome3d-furniture (the
# Sweet Home 3D furniture libraries, 820 OBJ models, CC0 / CC-BY 3.0; 120 MB)
# with `apt-get download` (no root needed), unpacked into DEST.
# Idempotent: returns at once when DEST already holds the catalogues.
#
#   bash tools/dataset_converters/fetch_sweethome3d.sh [DEST]
#   -> DEST/usr/share/sweethome3d/furniture/*.sh3f
# Exit status 3 when no Debian package manager can fetch it.
set -euo pipefail
DEST="${1:-data/sweethome3d}"
PKG=sweethome3d-furniture
VERSION=1.8-1
FURNITURE="$DEST/usr/share/sweethome3d/furniture"

if compgen -G "$FURNITURE/*.sh3f" >/dev/null; then
    echo "[fetch] $PKG already in $DEST"
    exit 0
fi
if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
    echo "[fetch] no apt-get / dpkg-deb here: cannot fetch the Debian" \
         "package $PKG" >&2
    exit 3
fi
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
if ! apt-get download -q "$PKG=$VERSION" >/dev/null 2>&1; then
    echo "[fetch] $PKG=$VERSION is not in the package index; trying the" \
         "newest $PKG" >&2
    apt-get download -q "$PKG" >/dev/null 2>&1 || {
        echo "[fetch] apt-get download $PKG failed (no Debian archive" \
             "reachable?)" >&2
        exit 3
    }
fi
cd - >/dev/null
mkdir -p "$DEST"
dpkg-deb -x "$TMP"/${PKG}_*.deb "$DEST"
echo "[fetch] $(basename "$TMP"/${PKG}_*.deb) unpacked into $DEST:" \
     "$(ls "$FURNITURE" | grep -c '\.sh3f$') catalogues"
