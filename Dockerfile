# Multi-stage build of the static apimprobe binary (the same flags as
# scripts/build), on a minimal non-root image with CA certificates.
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) \
#                --build-arg COMMIT=$(git rev-parse HEAD) -t apimprobe .
#
# .git is not sent to the builder (.dockerignore), so the version and commit
# come only from these arguments; without them the image says dev/unknown.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
    -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
    -o /out/apimprobe ./cmd/apimprobe

# distroless/static carries CA certificates and a non-root user, nothing else.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="apimprobe" \
      org.opencontainers.image.description="Can Azure API Management work from this subnet? Run with --network host." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="https://github.com/apimprobe/apimprobe"
COPY --from=build /out/apimprobe /usr/local/bin/apimprobe
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/apimprobe"]
CMD ["run"]
