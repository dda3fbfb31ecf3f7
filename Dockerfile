# syntax=docker/dockerfile:1
#
# Sluice's container image: `docker build -t sluice .`
#
#   build    the official Swift image (Debian bookworm): a release build of the `sluice` product with
#            the Swift standard library and Foundation linked statically.
#   runtime  debian:bookworm-slim with the shared C libraries Sluice links (librdkafka, OpenSSL,
#            SQLite), a non-root user, and the ledger on a volume.
#
# Both stages are bookworm, so the binary runs against the glibc it was linked with.
# Lint: Tests/packaging/check.sh (hadolint, no warnings allowed; every ignored rule says why below).
# Run and compose: docs/deployment.md.

ARG SWIFT_VERSION=6.3

# ---------------------------------------------------------------------------------------------
FROM swift:${SWIFT_VERSION}-bookworm AS build

# The C libraries the package links against (the same list as .ci/run and the README).
# Versions are not pinned (DL3008): the bookworm archive drops superseded versions, so an exact
# pin breaks the build at the next security update; the base image tag fixes the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka-dev libssl-dev libsqlite3-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Dependencies first, so that a source change does not re-fetch them. Package.resolved is
# optional (the glob matches nothing when it is absent).
COPY Package.swift Package.resolved* ./
RUN --mount=type=cache,target=/src/.build swift package resolve

# The manifest names the test and benchmark targets too, and SwiftPM checks that every target's
# directory exists even when it builds one product: the whole package goes in (.dockerignore
# keeps .build, .git, documentation and any .env out).
COPY . .
RUN --mount=type=cache,target=/src/.build \
    swift build -c release --product sluice --static-swift-stdlib \
    && install -D -m 0755 "$(swift build -c release --product sluice --static-swift-stdlib --show-bin-path)/sluice" /out/sluice

# ---------------------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# librdkafka1, libssl3 and libsqlite3-0: the shared libraries the binary links; ca-certificates:
# TLS to engines, Kafka and Postgres. curl: only for HEALTHCHECK below (until `sluice healthcheck`
# exists, see docs/deployment.md). Unpinned for the reason given in the build stage (DL3008).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka1 libssl3 libsqlite3-0 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 sluice \
    && useradd --system --uid 10001 --gid sluice --home-dir /var/lib/sluice --no-create-home \
        --shell /usr/sbin/nologin sluice \
    && install -d -o sluice -g sluice -m 0750 /var/lib/sluice \
    && install -d -m 0755 /etc/sluice

COPY --from=build /out/sluice /usr/local/bin/sluice

# In a container Sluice listens on every interface (the host decides what to publish). Set the
# port with SLUICE_HTTP_PORT rather than `http.port` in sluice.yaml, so that HEALTHCHECK follows it.
ENV SLUICE_HTTP_HOST=0.0.0.0 \
    SLUICE_HTTP_PORT=8080

# The SQLite ledger (outcomes, idempotency, inbox, dead letters) must outlive the container:
# point `ledger.path` in sluice.yaml (or SLUICE_LEDGER_PATH) at a file in here.
VOLUME ["/var/lib/sluice"]
WORKDIR /var/lib/sluice

# Numeric ids, so that orchestrators can check runAsNonRoot without reading /etc/passwd.
USER 10001:10001

EXPOSE 8080

# /healthz answers while the process is alive (readiness is /readyz: ledger, engines, Kafka).
# Through sh so that the port follows SLUICE_HTTP_PORT, or SLUICE_HTTP_OPERATIONS_PORT when set.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["/bin/sh", "-c", "curl -fsS -o /dev/null \"http://127.0.0.1:${SLUICE_HTTP_OPERATIONS_PORT:-$SLUICE_HTTP_PORT}/healthz\" || exit 1"]

# Exec form: `sluice` is PID 1 and receives SIGTERM itself (`docker stop`, Kubernetes). Its
# swift-service-lifecycle ServiceGroup installs SIGTERM/SIGINT handlers, so the kernel's "PID 1
# ignores signals with no handler" rule does not apply, and `sluice serve` starts no child
# processes, so there are no zombies to reap: no tini needed. (If that ever changes, run with
# `docker run --init` or compose's `init: true`.) SIGTERM is the default STOPSIGNAL; stated here
# because the drain depends on it.
STOPSIGNAL SIGTERM
ENTRYPOINT ["sluice"]
CMD ["serve", "--config", "/etc/sluice/sluice.yaml"]
