# A private Docker engine and an offline base image for the runner's Docker executor test.
# No registry is reachable in CI, so the image is a debootstrap'd Debian imported with
# `docker import`; the tarball is cached, so a second run only checks that things answer.
# Sourced by .ci/run (bash, set -euo pipefail, root); it exports what test/runner reads.
BENCHFLEET_DOCKER_SOCK=/run/benchfleet-docker.sock
BENCHFLEET_BASE_IMAGE=benchfleet-test-base:bookworm
BENCHFLEET_BASE_CACHE=/var/cache/benchfleet/bookworm-minbase.tar

if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    docker.io debootstrap >/dev/null
fi

benchfleet_docker() { docker -H "unix://${BENCHFLEET_DOCKER_SOCK}" "$@"; }

if ! benchfleet_docker version >/dev/null 2>&1; then
  # No iptables/bridge: containers get no network, which is what the test wants anyway.
  nohup dockerd --iptables=false --bridge=none --host "unix://${BENCHFLEET_DOCKER_SOCK}" \
    --pidfile /run/benchfleet-docker.pid --data-root /var/lib/benchfleet-docker \
    --exec-root /run/benchfleet-docker >/var/log/benchfleet-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    benchfleet_docker version >/dev/null 2>&1 && break
    sleep 0.5
  done
  benchfleet_docker version >/dev/null || { tail -20 /var/log/benchfleet-dockerd.log; exit 1; }
fi

if ! benchfleet_docker image inspect "$BENCHFLEET_BASE_IMAGE" >/dev/null 2>&1; then
  if [ ! -s "$BENCHFLEET_BASE_CACHE" ]; then
    mkdir -p "$(dirname "$BENCHFLEET_BASE_CACHE")"
    rootfs="$(mktemp -d /var/tmp/benchfleet-rootfs.XXXXXX)"
    # minbase has sh, grep and coreutils: enough for the stand-in ruby-bench (a shell script).
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -cf "$BENCHFLEET_BASE_CACHE.tmp" .
    mv "$BENCHFLEET_BASE_CACHE.tmp" "$BENCHFLEET_BASE_CACHE"
    rm -rf "$rootfs"
  fi
  benchfleet_docker import "$BENCHFLEET_BASE_CACHE" "$BENCHFLEET_BASE_IMAGE" >/dev/null
fi

export BENCHFLEET_DOCKER_HOST="unix://${BENCHFLEET_DOCKER_SOCK}"
export BENCHFLEET_TEST_IMAGE="$BENCHFLEET_BASE_IMAGE"
