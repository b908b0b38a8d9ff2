#!/usr/bin/env bash
# Local base images for building backend/Dockerfile on a machine that cannot
# pull from an image registry (CI here reaches only Debian's mirrors, PyPI and
# the npm registry). Prints two image names on stdout, one a line:
#
#   payouts-ci-base:python-KEY   Debian bookworm (minbase) with Python 3.11 in a
#                                virtualenv on PATH: `python` and `pip` behave
#                                as in the official python image
#   payouts-ci-base:node-KEY     the same plus Node.js and npm, for the dashboard
#
# used as `--build-arg PYTHON_IMAGE=...` and `--build-arg NODE_IMAGE=...`.
# The root file system comes from debootstrap (Debian's Node.js, 18, is too old
# for Vite); Node.js is the release binary as the npm registry's
# node-linux-<arch> package carries it (what `npm install node` uses), npm the
# `npm` package, both fetched with `npm pack`, which checks their integrity.
# Certificate authorities the machine added itself (/usr/local/share/
# ca-certificates, e.g. of a TLS-inspecting proxy) are trusted in the images,
# so that pip and npm can reach their registries from inside a build.
#
# KEY is a hash of this script, the machine's architecture and those
# certificates. The root file systems are kept under $CI_BASE_CACHE
# (/var/cache/payouts-ci-base) and the images in Docker, so a second run on the
# same machine bootstraps nothing; a changed recipe gets a new key, and the
# root file systems and images of older keys are removed. Needs root,
# debootstrap and a running Docker engine. Progress goes to stderr.
set -euo pipefail

suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=python3,python3-venv,ca-certificates
node_version=20.20.2 # Vite needs 20.19 or newer
npm_version=10.8.2   # the npm that Node.js 20.20 ships with
cache_root=${CI_BASE_CACHE:-/var/cache/payouts-ci-base}
repository=payouts-ci-base

say() { echo "ci_base: $*" >&2; }

case "$(uname -m)" in
  x86_64) node_arch=x64 ;;
  aarch64) node_arch=arm64 ;;
  *)
    say "no Node.js build known for $(uname -m)"
    exit 2
    ;;
esac

extra_cas=()
if [ -d /usr/local/share/ca-certificates ]; then
  mapfile -t extra_cas < <(find /usr/local/share/ca-certificates -type f -name '*.crt' | sort)
fi

key=$(
  {
    cat -- "${BASH_SOURCE[0]}"
    uname -m
    if ((${#extra_cas[@]} > 0)); then cat -- "${extra_cas[@]}"; fi
  } | sha256sum | cut -c1-16
)
python_image="$repository:python-$key"
node_image="$repository:node-$key"
cache="$cache_root/$key"

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

if have_image "$python_image" && have_image "$node_image"; then
  say "cached: $python_image, $node_image"
  printf '%s\n' "$python_image" "$node_image"
  exit 0
fi

# The same settings as the official images where a build relies on them.
base_changes=(
  --change 'ENV PATH=/opt/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  --change 'ENV LANG=C.UTF-8'
  --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt'
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt'
  --change 'CMD ["bash"]'
)

if [ ! -f "$cache/python.tar" ] || [ ! -f "$cache/node.tar" ]; then
  started=$SECONDS
  rm -rf -- "$cache"
  mkdir -p -- "$cache/work"
  rootfs="$cache/work/rootfs"
  say "debootstrap $suite ($packages) from $mirror"
  debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$cache/work/debootstrap.log" 2>&1 || {
    tail -n 30 "$cache/work/debootstrap.log" >&2
    exit 1
  }

  if ((${#extra_cas[@]} > 0)); then
    cp -- "${extra_cas[@]}" "$rootfs/usr/local/share/ca-certificates/"
    chroot "$rootfs" update-ca-certificates >/dev/null
  fi
  chroot "$rootfs" python3 -m venv /opt/python
  chroot "$rootfs" /opt/python/bin/python --version >&2
  chroot "$rootfs" apt-get clean
  rm -rf -- "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/tmp/* "$rootfs"/var/log/*.log
  tar --numeric-owner -C "$rootfs" -cf "$cache/work/python.tar" .

  say "Node.js $node_version and npm $npm_version from the npm registry"
  (cd "$cache/work" && npm pack --silent "node-linux-$node_arch@$node_version" "npm@$npm_version" >/dev/null)
  mkdir -p "$cache/work/node" "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$cache/work/node-linux-$node_arch-$node_version.tgz" -C "$cache/work/node"
  install -m 0755 "$cache/work/node/package/bin/node" "$rootfs/usr/local/bin/node"
  tar -xzf "$cache/work/npm-$npm_version.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  chroot "$rootfs" /usr/local/bin/node --version >&2
  tar --numeric-owner -C "$rootfs" -cf "$cache/work/node.tar" .

  mv "$cache/work/python.tar" "$cache/work/node.tar" "$cache/"
  rm -rf -- "$cache/work"
  say "bootstrapped in $((SECONDS - started))s; cached under $cache"
  # Older recipes' root file systems are of no further use.
  find "$cache_root" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf -- {} +
fi

docker import "${base_changes[@]}" "$cache/python.tar" "$python_image" >/dev/null
docker import "${base_changes[@]}" "$cache/node.tar" "$node_image" >/dev/null
# Older recipes' images are untagged (their layers go once nothing uses them).
docker image ls --format '{{.Repository}}:{{.Tag}}' "$repository" | grep -v -e "-$key\$" | xargs -r docker rmi >/dev/null || true
say "imported $python_image, $node_image"
printf '%s\n' "$python_image" "$node_image"
