# signet — build, run and test. Needs only Go; every tool is pinned and run
# with `go run`, peer binaries for e2e are built from the Go module proxy.

# Go 1.26 with the latest security fixes; the go command downloads this
# toolchain from the module proxy when the machine has an older 1.26.x.
export GOTOOLCHAIN := go1.26.10
export CGO_ENABLED ?= 1

GO            ?= go
BIN           := bin/signet
ADDR          ?= 127.0.0.1:8080
DATA_DIR      ?= ./signet-data
TUF_DIR       ?= /tmp/signet-tuf
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOVULNCHECK   := golang.org/x/vuln/cmd/govulncheck@v1.9.0
VULNDB_MOD    := golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018
CACHE         ?= $(HOME)/.cache/signet
VULNDB_DIR    := $(CACHE)/vulndb-v0.0.0-20261105234957-e22db6528018
SHARED        ?= $(abspath ../shared)
E2E_CACHE     ?= $(HOME)/.cache/signet-e2e

.PHONY: all build run test fmt-check tidy-check vet staticcheck vulncheck unit e2e bench mutate clean image deploy

all: build

build:
	$(GO) build -o $(BIN) ./cmd/signet

## run: build and start `signet server --dev` with embedded storage, serving
## the TUF repository that `signet tuf init --dir $(TUF_DIR)` creates.
run: build
	$(BIN) server --dev --addr $(ADDR) --data-dir $(DATA_DIR) --tuf-repo $(TUF_DIR)/repo

## test: everything CI needs (format, tidy go.mod, vet, staticcheck, vulncheck, race tests).
test: fmt-check tidy-check vet staticcheck vulncheck unit

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

tidy-check:
	$(GO) mod tidy -diff

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) run $(STATICCHECK) ./...

# govulncheck needs the Go vulnerability database; vuln.go.dev is not
# reachable from CI, so build the database from golang.org/x/vulndb, which
# the module proxy serves, once per pinned version.
vulncheck: $(VULNDB_DIR)/index/db.json
	$(GO) run $(GOVULNCHECK) -db file://$(VULNDB_DIR) ./...

$(VULNDB_DIR)/index/db.json:
	@mkdir -p $(CACHE)
	src=$$($(GO) mod download -json $(VULNDB_MOD) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	test -n "$$src" && rm -rf $(VULNDB_DIR).part && \
	$(GO) run ./internal/tools/vulndbindex -osv "$$src/data/osv" -out $(VULNDB_DIR).part && \
	rm -rf $(VULNDB_DIR) && mv $(VULNDB_DIR).part $(VULNDB_DIR)

# go test's own vet pass runs a subset of the vet target's analyzers on the
# same files again (no file has a race build constraint); cold, it costs
# 77 s on 2 cores, so unit turns it off.
unit:
	$(GO) test -race -vet=off -timeout 20m ./...

## e2e: interop with real cosign and kube-apiserver (build tag e2e).
e2e:
	SIGNET_E2E_CACHE=$(E2E_CACHE) SIGNET_SHARED=$(SHARED) GO=$(GO) scripts/e2e.sh

## bench: Go benchmarks, reported as figures and ratios against peers
## measured in the same run (the table at the end; all output in bin/bench.txt).
## BENCH_COUNT=3 runs each benchmark three times (median and spread).
BENCH_COUNT ?= 1
bench:
	SIGNET_E2E_CACHE=$(E2E_CACHE) SIGNET_SHARED=$(SHARED) GO=$(GO) BENCH_COUNT=$(BENCH_COUNT) scripts/bench.sh

## image: signet's OCI image (linux/amd64 + linux/arm64, static, non-root,
## reproducible) built without a container engine. REGISTRY=host/path pushes
## it (as $(REGISTRY)/signet:$(VERSION)) and, with SIGN=1, signs it and
## attaches a CycloneDX SBOM and SLSA v1 provenance with bin/signet against
## $(SIGNET_SERVER); without REGISTRY it writes the OCI layout bin/image/oci.
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
REVISION      ?= $(shell git rev-parse HEAD)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct)
IMAGE_SOURCE  ?= https://github.com/signetproject/signet
IMAGE_DIR     := bin/image
CYCLONEDX     := github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0
image:
	rm -rf $(IMAGE_DIR) && mkdir -p $(IMAGE_DIR)
	for arch in amd64 arm64; do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath \
	    -ldflags "-s -w -buildid= -X github.com/signetproject/signet/internal/cli.Version=$(VERSION)" \
	    -o $(IMAGE_DIR)/linux_$$arch/signet ./cmd/signet || exit 1; \
	done
	$(GO) run ./internal/tools/imagebuild \
	  -bin linux/amd64=$(IMAGE_DIR)/linux_amd64/signet -bin linux/arm64=$(IMAGE_DIR)/linux_arm64/signet \
	  -source $(IMAGE_SOURCE) -revision $(REVISION) -version $(VERSION) -created $(SOURCE_DATE_EPOCH) \
	  -go-version $$($(GO) env GOVERSION) -provenance $(IMAGE_DIR)/provenance.json -digest-file $(IMAGE_DIR)/digest \
	  $(if $(REGISTRY),-push $(REGISTRY)/signet:$(VERSION) $(if $(INSECURE_REGISTRY),-insecure),-layout $(IMAGE_DIR)/oci)
	$(GO) run $(CYCLONEDX) bin -json -output $(IMAGE_DIR)/sbom.cdx.json -version $(VERSION) $(IMAGE_DIR)/linux_amd64/signet
	$(if $(and $(REGISTRY),$(SIGN)),$(MAKE) build && scripts/image-sign.sh $$(cat $(IMAGE_DIR)/digest) $(IMAGE_DIR))

## deploy: regenerate deploy/*.yaml from the Helm chart (builds helm into the e2e cache).
deploy:
	SIGNET_E2E_CACHE=$(E2E_CACHE) SIGNET_SHARED=$(SHARED) GO=$(GO) scripts/deploy-render.sh

## mutate: delete or invert each guard of verify, ca, tlog's validation,
## policy's authority checks, ctlog's precertificate reader and
## internal/fastjson, one at a time, and list the mutants no test kills
## (slow: not part of test). Known equivalent mutants, with the reason no
## test can kill them, are in internal/tools/mutate/equivalent.txt.
MUTATE := $(GO) run ./internal/tools/mutate -equivalent internal/tools/mutate/equivalent.txt
TLOG_VALIDATION := decode.go,entry.go,algorithm.go
REKORV1_VALIDATION := entry.go,proposed.go,pki.go,envelope.go,hashedrekord.go,dsse.go,intoto.go,searchquery.go
POLICY_AUTHORITY := checker.go,trustmaterial.go,trustroot.go,kms.go
mutate:
	@rc=0; \
	$(MUTATE) -pkg ./verify -slow '^TestDifferential$$' || rc=1; \
	$(MUTATE) -pkg ./ca || rc=1; \
	$(MUTATE) -pkg ./fulcio || rc=1; \
	$(MUTATE) -pkg ./tlog -files $(TLOG_VALIDATION) || rc=1; \
	$(MUTATE) -pkg ./tlog/rekorv1 -files $(REKORV1_VALIDATION) || rc=1; \
	$(MUTATE) -pkg ./policy -files $(POLICY_AUTHORITY) -slow '^TestEvaluatePolicyTimeout$$' || rc=1; \
	$(MUTATE) -pkg ./ctlog -files precert.go || rc=1; \
	$(MUTATE) -pkg ./internal/fastjson || rc=1; \
	exit $$rc

clean:
	rm -rf bin
