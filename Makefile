# dcs-access: `make run` serves the local stack, `make test` runs every check.
# SAM builds each function through its build-<LogicalId> target (BuildMethod: makefile).

# moto and cfn-lint live in .local/venv when scripts/deps.sh installed them (see there).
export PATH := $(CURDIR)/.local/venv/bin:$(PATH)

GO       ?= go
GOOS     ?= linux
GOARCH   ?= arm64
BUILD    ?= build
FUZZTIME ?= 5s
# Lambda build: static, no RPC shim (provided.al2023), reproducible and small.
# nethttpomithttp2 leaves net/http's bundled HTTP/2 out (about 0.35 MB a
# bootstrap): the Lambda runtime API is HTTP/1.1, and the AWS APIs, Salesforce
# and DCS all answer HTTP/1.1; the functions serve no HTTP themselves.
GOBUILD   = CGO_ENABLED=0 GOOS=$(GOOS) GOARCH=$(GOARCH) $(GO) build -tags lambda.norpc,nethttpomithttp2 -trimpath -ldflags='-s -w -buildid='

# LogicalId:source directory of every function in template.yaml.
FUNCTIONS = CreateTokenFunction:./functions/create-token \
            ListTokensFunction:./functions/list-tokens \
            DeleteTokenFunction:./functions/delete-token \
            RevokeLeakedTokensFunction:./functions/revoke-leaked-tokens \
            WhoAmIFunction:./functions/whoami \
            ConsoleFunction:./functions/console \
            AuthorizerFunction:./authorizer \
            IntrospectTokenFunction:./functions/introspect-token \
            PublicKeysFunction:./functions/public-keys \
            SandboxPlansFunction:./functions/sandbox-plans \
            SandboxRefreshesFunction:./functions/sandbox-refreshes \
            SandboxRefreshEventsFunction:./functions/sandbox-refresh-events \
            PipelineStepsFunction:./functions/pipeline-steps \
            PipelineSecretsFunction:./functions/pipeline-secrets \
            DcsTokenRotationFunction:./functions/dcs-token-rotation \
            ExpiryNoticesFunction:./functions/expiry-notices \
            ListAuditEventsFunction:./functions/list-audit-events \
            PublishAuditEventsFunction:./functions/publish-audit-events \
            TenantPolicyFunction:./functions/tenant-policy

.PHONY: run test unit lint bench build deps clean screenshots

run: ## Serve the API on 127.0.0.1:3000 with DynamoDB Local behind it.
	bash scripts/run-local.sh

test: deps lint ## Everything: lint, template, unit, DynamoDB Local, moto and fuzz tests.
	bash scripts/with-services.sh bash scripts/test.sh

deps:
	bash scripts/deps.sh

lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) mod tidy -diff
	cfn-lint template.yaml
	bash scripts/stepfunctions-local/validate.sh # the ASL, which cfn-lint does not open

screenshots: deps ## The console's screenshots in docs/screenshots/, from the browser tests.
	bash scripts/with-services.sh env CONSOLE_SCREENSHOTS=$(CURDIR)/docs/screenshots \
	  $(GO) test -count=1 -run 'TestConsole' ./internal/console/browsertest

bench: deps ## Benchmarks against DynamoDB Local; numbers go into docs/performance.md.
	bash scripts/with-services.sh $(GO) test -run='^$$' -bench=. -benchmem -count=5 ./...

build: $(foreach f,$(FUNCTIONS),build-$(word 1,$(subst :, ,$(f)))) ## Every bootstrap under build/.

# build-<LogicalId>: SAM sets ARTIFACTS_DIR; `make build` puts each in build/<LogicalId>/.
define function_target
.PHONY: build-$(1)
build-$(1):
	$$(GOBUILD) -o $$(or $$(ARTIFACTS_DIR),$(BUILD)/$(1))/bootstrap $(2)
endef
$(foreach f,$(FUNCTIONS),$(eval $(call function_target,$(word 1,$(subst :, ,$(f))),$(word 2,$(subst :, ,$(f))))))

clean:
	rm -rf $(BUILD) .aws-sam
