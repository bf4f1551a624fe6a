# syntax=docker/dockerfile:1
#
# TicketFlow's one image: the production `ticketflow` binary, which runs any process of the system
# (`serve gateway`, `serve user`, ..., `setup`). It links none of the local-stack tooling
# (cmd/ticketflow-dev, tools/): cmd/ticketflow/deps_test.go checks its dependencies, and
# BENCHMARKS.md records its size. docker-compose.yml builds it as ticketflow:local.

# --- build ---------------------------------------------------------------------------------------
FROM golang:1.26 AS build
WORKDIR /src
# go.mod's toolchain line names the patched Go; the image's GOTOOLCHAIN=local would ignore it.
ENV GOTOOLCHAIN=auto

# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

COPY . .
# `ticketflow --version` names them: docker build --build-arg VERSION=$(git describe --tags --always)
# --build-arg COMMIT=$(git rev-parse HEAD) (without them, whatever VCS stamp the build finds).
ARG VERSION=
ARG COMMIT=
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
    -ldflags="-s -w -X ticketflow/cmd/internal/cli.version=${VERSION} -X ticketflow/cmd/internal/cli.commit=${COMMIT}" \
    -o /out/ticketflow ./cmd/ticketflow

# --- runtime -------------------------------------------------------------------------------------
# debian-slim rather than distroless: the compose health checks need curl to GET /health.
FROM debian:12-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/ticketflow --create-home ticketflow

COPY --from=build /out/ticketflow /usr/local/bin/ticketflow

# Inside a container a process must listen on every interface to be reachable from the others.
ENV LISTEN_HOST=0.0.0.0 \
    TICKETFLOW_DATA_DIR=/var/lib/ticketflow/data

USER ticketflow
WORKDIR /var/lib/ticketflow

# gateway, user, event, booking, inventory, payment, notification, worker (health), bridge (health)
EXPOSE 3000 3001 3002 3003 3004 3005 3006 3007 3008

ENTRYPOINT ["/usr/local/bin/ticketflow"]
CMD ["help"]
