#!/usr/bin/env bash
# Install the renderer's real assets by name (never committed): the skinned WebXR hand mesh from
# npm and real photographs for backgrounds from Debian's wallpaper packages.
# Usage: tools/install_assets.sh [VENV]
#
# Why these packages: on Debian 12, gnome-backgrounds holds only rendered abstract art, while
# mate-backgrounds ("nature") and plasma-workspace-wallpapers hold real photographs
# (synth/photos.py lists the ones it reads).
# Why by name at setup: they are other people's work under their own licences (MIT, GPL, LGPL);
# fetching them by package name keeps them out of the repository and pins what every render uses.
# Idempotent: a second run only checks that the files are there.
set -euo pipefail

VENV=${1:-.venv}
PACKAGE="@webxr-input-profiles/assets"
VERSION="1.0.20"
# Read by handperception.synth.assets: <venv>/share/handperception-assets/<what>.
CACHE="$VENV/share/handperception-assets"
MESH_DIR="$CACHE/generic-hand-$VERSION"
INSIDE_TARBALL="package/dist/profiles/generic-hand"
BACKGROUND_PACKAGES=(mate-backgrounds plasma-workspace-wallpapers)

install_hand_mesh() {
    if [[ -s "$MESH_DIR/left.glb" && -s "$MESH_DIR/right.glb" ]]; then
        echo "assets: hand mesh present in $MESH_DIR"
        return
    fi
    if ! command -v npm >/dev/null; then
        echo "assets: npm is missing; install it (Debian: apt-get install npm) and rerun" >&2
        exit 1
    fi
    mkdir -p "$CACHE"
    local work
    work=$(mktemp -d "$CACHE/.download.XXXXXX")
    trap 'rm -rf "$work"' RETURN
    echo "assets: npm pack $PACKAGE@$VERSION (about 94 MB, once)"
    (cd "$work" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null)
    tar -xzf "$work"/*.tgz -C "$work" "$INSIDE_TARBALL/left.glb" "$INSIDE_TARBALL/right.glb"
    mkdir -p "$MESH_DIR"
    mv "$work/$INSIDE_TARBALL/left.glb" "$work/$INSIDE_TARBALL/right.glb" "$MESH_DIR/"
    echo "assets: hand mesh installed in $MESH_DIR"
}

install_backgrounds() {
    local missing=() package
    for package in "${BACKGROUND_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
            missing+=("$package")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        echo "assets: ${BACKGROUND_PACKAGES[*]} present"
        return
    fi
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
        echo "assets: NOTE ${missing[*]} not installed and this is not a root Debian shell;" \
            "renders use scikit-image's sample photographs instead" \
            "(as root: apt-get install --no-install-recommends ${missing[*]})"
        return
    fi
    # Update the package lists only when they do not know the packages yet.
    if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
        apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
    echo "assets: ${missing[*]} installed"
}

install_hand_mesh
install_backgrounds
