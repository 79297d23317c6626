# Multi-stage build of the static apimprobe binary (the same flags as
# scripts/build), on a minimal non-root image with CA certificates.
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
COPY --from=build /out/apimprobe /usr/local/bin/apimprobe
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/apimprobe"]
CMD ["run"]
