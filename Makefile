# WA Gateway — common tasks. `make run` serves the gateway and dashboard on
# :8080 with its data in ./data; `make test` runs every test.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      := bin/wa-gateway
FUZZTIME ?= 10s

.PHONY: all build run test bench fuzz lint tidy clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/wa-gateway

run: build
	WA_GATEWAY_LOG_LEVEL=$${WA_GATEWAY_LOG_LEVEL:-info} ./$(BIN) serve

test:
	$(GO) test -race -count=1 ./...

# Measures a real gateway process; add BENCHFLAGS='-out bench/latest.md' to keep the table.
bench: build
	$(GO) run ./cmd/wa-bench -gateway $(BIN) $(BENCHFLAGS)

# Runs each fuzz target briefly (FUZZTIME each).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff

tidy:
	$(GO) mod tidy

clean:
	rm -rf bin
