#!/bin/sh
# docs/examples/compose.yaml as one `docker run` (`podman run` takes the same
# options). The host runs stability with docs/examples/stability.ini.
set -e
mkdir -p /var/lib/stability-share
docker run -d --name app --restart unless-stopped \
    -v /var/lib/stability-share:/stability \
    docker.io/library/busybox:stable \
    sh -c "trap 'exit 0' TERM; while :; do touch /stability/heartbeat; sleep 1; done"
