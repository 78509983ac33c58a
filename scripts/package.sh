#!/usr/bin/env bash
# Builds the .deb and the .rpm of Twake Uploader from release binaries:
#   scripts/package.sh BIN_DIR GEN_DIR OUT_DIR [deb|rpm|stage-only]...
# BIN_DIR holds twake-uploader and twake-upload, GEN_DIR what `twake-upload generate-docs` wrote (man
# pages, completions). Both packages install exactly the files of
# src-tauri/packaging/manifest.tsv. Tauri's bundler is not used for this: it names the menu
# entry after the product ("Twake Uploader.desktop") where the desktop wants the app's id.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MANIFEST=$ROOT/src-tauri/packaging/manifest.tsv
BIN=$(realpath "$1") GEN=$(realpath "$2") OUT=$3
shift 3
FORMATS=("$@")
((${#FORMATS[@]})) || FORMATS=(deb rpm)
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
NAME=twake-uploader
VERSION=$("$BIN/twake-upload" --version | awk '{print $2}')
SUMMARY="Resumable uploads to Twake Drive and Resumable.js servers"
DESCRIPTION="Twake Uploader sends files and folders in resumable chunks to Twake Drive or any
Resumable.js / Flow.js server, with a queue you can pause, resume and retry. The package has
the desktop app (twake-uploader) and the command line (twake-upload)."

# Where a manifest source is: @bin/, @gen/ or the repository.
source_path() {
  case $1 in
    @bin/*) echo "$BIN/${1#@bin/}" ;;
    @gen/*) echo "$GEN/${1#@gen/}" ;;
    *) echo "$ROOT/$1" ;;
  esac
}

# Copies the manifest's files for one format into $1; prints each installed path.
stage() {
  local root=$1 format=$2 formats mode dest src file target n
  rm -rf "$root"
  mkdir -p "$root"
  while IFS=$'\t' read -r formats mode dest src; do
    [[ -z $formats || $formats == \#* ]] && continue
    [[ $formats == all || $formats == "$format" ]] || continue
    n=0
    for file in $(source_path "$src"); do
      [[ -f $file ]] || { echo "package: $file is missing (manifest line for $dest)" >&2; exit 1; }
      if [[ $dest == */ ]]; then target=$dest$(basename "$file"); else target=$dest; fi
      install -D -m "$mode" "$file" "$root$target"
      # Binaries ship without their symbol tables, as Debian's and Fedora's own packages do
      # (half the size); the release build in target/ keeps them for profiles.
      if [[ $src == @bin/* ]]; then strip --strip-unneeded "$root$target"; fi
      if [[ $target == /usr/share/man/* ]]; then
        gzip -9nf "$root$target"
        target=$target.gz
      fi
      echo "$target"
      n=$((n + 1))
    done
    ((n > 0)) || { echo "package: nothing matches $src (manifest line for $dest)" >&2; exit 1; }
  done <"$MANIFEST"
}

build_deb() {
  local root=$OUT/deb-root arch shlibs
  stage "$root" deb >"$OUT/deb-files.txt"
  arch=$(dpkg --print-architecture)
  # The shared libraries the binaries link, as Debian package names (dpkg-shlibdeps wants a
  # debian/control to read, even an empty one). The tray's indicator library is opened at
  # run time, so it is named by hand.
  mkdir -p "$OUT/shlibs/debian"
  : >"$OUT/shlibs/debian/control"
  shlibs=$(cd "$OUT/shlibs" && dpkg-shlibdeps -O "$root/usr/bin/twake-uploader" \
    "$root/usr/bin/twake-upload" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
  mkdir -p "$root/DEBIAN"
  {
    echo "Package: $NAME"
    echo "Version: $VERSION"
    echo "Architecture: $arch"
    echo "Maintainer: LINAGORA"
    echo "Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)"
    echo "Depends: ${shlibs:+$shlibs, }libayatana-appindicator3-1"
    echo "Recommends: xdg-utils"
    echo "Section: net"
    echo "Priority: optional"
    echo "Description: $SUMMARY"
    sed 's/^/ /' <<<"$DESCRIPTION"
  } >"$root/DEBIAN/control"
  (cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum >DEBIAN/md5sums)
  # xz for the real package; the tests ask for none (debug binaries are large).
  dpkg-deb --root-owner-group "-Z${DEB_COMPRESSION:-xz}" --build "$root" "$OUT/${NAME}_${VERSION}_${arch}.deb" >/dev/null
  echo "$OUT/${NAME}_${VERSION}_${arch}.deb"
}

build_rpm() {
  local root=$OUT/rpm-root top=$OUT/rpmbuild arch
  stage "$root" rpm >"$OUT/rpm-files.txt"
  arch=$(uname -m)
  mkdir -p "$top/SPECS"
  # rpmbuild's own post-install steps (strip, debug info, byte-compiling) are off: the rpm
  # carries the same files as the .deb.
  {
    echo "Name: $NAME"
    echo "Version: $VERSION"
    echo "Release: 1"
    echo "Summary: $SUMMARY"
    echo "License: AGPL-3.0-only"
    echo "Requires: libayatana-appindicator-gtk3"
    echo "Recommends: xdg-utils"
    echo "%global debug_package %{nil}"
    echo "%global __os_install_post %{nil}"
    echo "%description"
    echo "$DESCRIPTION"
    echo "%install"
    echo "cp -a '$root/.' %{buildroot}/"
    echo "%files"
    sed 's/^/"/; s/$/"/' "$OUT/rpm-files.txt"
  } >"$top/SPECS/$NAME.spec"
  rpmbuild --quiet -bb --define "_topdir $top" --define "_build_id_links none" \
    --target "$arch" "$top/SPECS/$NAME.spec" >/dev/null
  mv "$top/RPMS/$arch/$NAME-$VERSION-1.$arch.rpm" "$OUT/"
  echo "$OUT/$NAME-$VERSION-1.$arch.rpm"
}

for format in "${FORMATS[@]}"; do
  case $format in
    deb) build_deb ;;
    rpm) build_rpm ;;
    stage-only) stage "$OUT/deb-root" deb >"$OUT/deb-files.txt" && stage "$OUT/rpm-root" rpm >"$OUT/rpm-files.txt" ;;
    *) echo "package: unknown format $format (deb, rpm, stage-only)" >&2; exit 2 ;;
  esac
done
