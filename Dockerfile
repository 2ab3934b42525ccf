# advcheck container image: a static-ish binary with the OpenBLAS backend and
# libjpeg-turbo (JPEG pixels bit-identical to PIL's) on a slim Debian base,
# running as a non-root user. Build and run:
#
#   docker build -t advcheck .
#   docker run --rm --read-only --user 65532:65532 --cap-drop ALL --security-opt no-new-privileges \
#     -v "$PWD/models:/models:ro" -v "$PWD/out:/out" advcheck sweep --model /models/model.onnx --json /out/report.json
#
# The root filesystem can be read-only: advcheck writes only the files named by
# its flags (atomically, next to their final names).
#
# The base images are named in full (docker.io/library/...), so that podman
# and buildah, which resolve no short names by default, pull them too. Without
# access to a registry, `make image` builds deploy/image/Containerfile instead:
# the same user, working directory and entry point on an empty base, with the
# static pure-Go binary (a test checks that the two agree).

FROM docker.io/library/golang:1.26-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopenblas-dev libjpeg62-turbo-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
RUN go build -trimpath -tags 'openblas libjpeg' \
      -ldflags "-s -w -X github.com/advcheck/advcheck/internal/buildinfo.Version=${VERSION}" \
      -o /out/advcheck ./cmd/advcheck \
 && /out/advcheck version

FROM docker.io/library/debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopenblas0-pthread libjpeg62-turbo \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 65532 advcheck \
 && useradd --uid 65532 --gid 65532 --no-create-home --shell /usr/sbin/nologin advcheck
COPY --from=build /out/advcheck /usr/local/bin/advcheck
USER 65532:65532
WORKDIR /out
ENTRYPOINT ["/usr/local/bin/advcheck"]
CMD ["sweep"]
