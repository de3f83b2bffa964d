# syntax=docker/dockerfile:1
# The unistore image: one static binary on distroless, run as non-root.
# Workers in a Kubernetes Job or a Snowpark Container Services job service
# run `unistore worker …` (the launchers give the arguments); the same
# image runs any other command.
#
#   docker build -t REGISTRY/unistore:TAG .
#   docker push REGISTRY/unistore:TAG
#
# Snowpark Container Services needs linux/amd64 images in the account's
# image repository: docker build --platform linux/amd64 -t
# ORG-ACCOUNT.registry.snowflakecomputing.com/DB/SCHEMA/REPO/unistore:TAG .
# (after `docker login ORG-ACCOUNT.registry.snowflakecomputing.com`).

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO_ENABLED=0: a static binary (pure-Go SQLite, pgx, gosnowflake), so
# distroless/static needs no libc. -trimpath and -s -w: reproducible and
# smaller. -buildvcs=false: the build context has no .git.
ARG TARGETOS=linux TARGETARCH=amd64
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/unistore ./cmd/unistore

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/unistore /usr/local/bin/unistore
# nonroot is uid 65532, the Kubernetes Job's runAsUser.
USER 65532:65532
# gosnowflake must not probe cloud metadata or load its native library.
ENV SNOWFLAKE_DISABLE_PLATFORM_DETECTION=true SF_DISABLE_MINICORE=true
ENTRYPOINT ["unistore"]
CMD ["help"]
