# containerops.lifecycle — build, test and demo plumbing.
#
#   make test    the whole suite: setup lint units, then four lanes side by side: integration-pytest (in two
#                parts) | matrix | sanity integration-targets ansible-lint molecule release-checks docs-checks
#                (THE test command)
#   make demo    run playbooks/demo.yml against the local Docker engine
#   make help    list the targets
#
# Everything Ansible runs from the project virtualenv (.venv); nothing is installed globally except what
# tests/setup.sh (make test), tests/engine.sh and tests/images/build-test-image.sh (make demo) install with apt
# as root.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
# The suite's steps share .build/ and the engine; a make runs them one after the other (`make test` runs makes
# side by side, each on an engine of its own: see `suite`).
.NOTPARALLEL:

# The project venv runs the newest ansible-core (tests/requirements.txt) on this Python, found through PATH or
# pyenv by tests/python.sh (PYTHON=/path/to/python3.X overrides); it is also ansible-test's --python.
PY_VERSION  := 3.13
ifeq ($(origin PYTHON),undefined)
PYTHON      := $(shell tests/python.sh $(PY_VERSION) 2>/dev/null)
endif
# The older ansible-core releases requires_ansible admits, each on a Python it supports (tests/matrix.sh).
MATRIX      ?= 2.16:3.11 2.17:3.12 2.18:3.11 2.19:3.13 2.20:3.12
VENV        := $(CURDIR)/.venv
BIN         := $(VENV)/bin
VENV_STAMP  := $(VENV)/.requirements-$(PY_VERSION).stamp
# `make collection` builds and installs the tarball with ansible-galaxy from a venv of ansible-core alone.
GALAXY_VENV := $(CURDIR)/.build/galaxy-venv
GALAXY_CORE := ansible-core>=2.16
BUILD       := $(CURDIR)/.build
DIST        := $(BUILD)/dist
COLLECTIONS := $(BUILD)/collections
TREE        := $(BUILD)/tree/ansible_collections/containerops/lifecycle
IMAGE       := containerops/busybox:test

# Environment for anything that runs Ansible against the installed collection.
ANSIBLE_ENV := PATH="$(BIN):$$PATH" \
	ANSIBLE_COLLECTIONS_PATH="$(COLLECTIONS)" \
	ANSIBLE_PYTHON_INTERPRETER="$(BIN)/python"
# ansible-test computes its own collection path from the tree; keep ours out of its way.
ANSIBLE_TEST_ENV := env -u ANSIBLE_COLLECTIONS_PATH -u ANSIBLE_COLLECTIONS_PATHS \
	PATH="$(BIN):$$PATH"

# pytest exit status 5 means "no tests collected": not a failure of the suite.
run_pytest = rc=0; $(1) || rc=$$?; if [ $$rc -eq 5 ]; then echo "make: note: pytest collected no tests in $(2)"; rc=0; fi; exit $$rc

.PHONY: help setup venv collection engine image tree lint units sanity integration test suite demo bench timeline clean \
	distclean

help:
	@echo "targets:"
	@echo "  setup        what the suite needs on the machine: installed as root on Debian when missing, else named"
	@echo "  venv         .venv with tests/requirements.txt (re-run when requirement files change)"
	@echo "  collection   build the collection tarball and install it into .build/collections (ansible-core alone)"
	@echo "  engine       make sure a Docker engine answers (tests/engine.sh ensure)"
	@echo "  image        engine + build $(IMAGE) (no registry needed)"
	@echo "  tree         copy the checkout to .build/tree/ansible_collections/containerops/lifecycle"
	@echo "  lint         ruff check ., the changelog fragments, mypy (pyproject.toml [tool.mypy])"
	@echo "  units        pytest tests/unit"
	@echo "  sanity       ansible-test sanity --local on plugins/"
	@echo "  integration  integration-targets + integration-pytest (on the suite's own engine)"
	@echo "  integration-targets  ansible-test integration --local (on the suite's own engine)"
	@echo "  integration-pytest   pytest tests/integration (on the suite's own engine)"
	@echo "  integration-podman   pytest -m podman tests/integration: the podman cases (the suite's own Podman service)"
	@echo "  release-checks  pytest tests/release: changelog, galaxy.yml, make release, the EE (on the suite's own engine)"
	@echo "  docs-checks  pytest tests/docs: antsibull-docs lint, the HTML site looked at in Chromium"
	@echo "  matrix       units, sanity and one playbook through every backend on each older ansible-core: $(MATRIX)"
	@echo "  test         setup lint units, then four lanes side by side (logs in .build/logs), each on an engine of"
	@echo "               its own: integration-pytest (two parts) | matrix | sanity integration-targets ansible-lint"
	@echo "               molecule release-checks docs-checks (the whole suite)"
	@echo "  demo         run playbooks/demo.yml against the local engine"
	@echo "  bench        benchmarks/run.py: container_state vs community.docker vs the SDK floor; on Podman vs"
	@echo "               containers.podman vs the libpod floor"
	@echo "  bench-fleet  benchmarks/fleet.py: fleet.yml over 1 engine x 300 vs 3 engines x 100 (private engines)"
	@echo "  bench-transports  benchmarks/transports.py: one engine through its socket, ssh:// and mutual TLS"
	@echo "  bench-autoheal  benchmarks/autoheal.py: autoheal latencies, burst heals, the event source's cost (private engine)"
	@echo "  timeline     benchmarks/workflow_timeline.py: status-log timelines of both workflow roles"
	@echo "  ansible-lint ansible-lint (production profile) over the whole collection"
	@echo "  changelog    lint the fragments; CHANGELOG.rst/.md + changelogs/changelog.yaml for galaxy.yml's version"
	@echo "  release      [VERSION=x.y.z | BUMP=major|minor|patch]: set the version, changelog, build the tarball"
	@echo "  docs         antsibull-docs lint-collection-docs + the HTML site in .build/docs/html (antsibull-docs, Sphinx)"
	@echo "  ee           ansible-builder create: the execution environment's build context in .build/ee/context"
	@echo "  molecule     the roles' molecule scenarios (on the suite's own engine)"
	@echo "  clean        remove .build and caches;  distclean: also .venv"

# ---------------------------------------------------------------- machine set-up
# The programs the suite runs (Docker, Chromium, Java 17, busybox-static, ...): apt-installed as root on Debian
# when missing; otherwise tests/setup.sh names them and fails (the suite skips nothing it cannot run).
setup:
	@tests/setup.sh $(sort $(PY_VERSION) $(foreach pair,$(MATRIX),$(lastword $(subst :, ,$(pair)))))

# ---------------------------------------------------------------- virtualenv
venv: $(VENV_STAMP)

$(VENV_STAMP): requirements.txt tests/requirements.txt
	@echo "==> virtualenv $(VENV) on Python $(PY_VERSION) (requirements changed or missing)"
	@[ -n "$(PYTHON)" ] || tests/python.sh $(PY_VERSION) >/dev/null
	@if [ -x "$(BIN)/python" ] && ! "$(BIN)/python" -c 'import sys; sys.exit(sys.version_info[:2] != tuple(map(int, "$(PY_VERSION)".split("."))))'; then \
	  echo "==> $(VENV) is not on Python $(PY_VERSION): made again"; rm -rf "$(VENV)"; fi
	@[ -x "$(BIN)/python" ] || "$(PYTHON)" -m venv "$(VENV)" || { \
	  echo "make: '$(PYTHON) -m venv' failed; on Debian install python3-venv (apt-get install -y python3-venv)" >&2; \
	  rm -rf "$(VENV)"; exit 1; }
	"$(BIN)/python" -m pip install -q --upgrade pip
	"$(BIN)/python" -m pip install -q -r tests/requirements.txt
	touch "$@"

# ---------------------------------------------------------------- collection
# The tarball needs nothing but ansible-galaxy: a venv of its own with ansible-core alone (not the dev toolset),
# remade when GALAXY_CORE changes.
collection:
	@if [ "$$(cat "$(GALAXY_VENV)/.stamp" 2>/dev/null)" != "$(GALAXY_CORE)" ]; then \
	  echo "==> $(GALAXY_VENV): $(GALAXY_CORE)"; \
	  rm -rf "$(GALAXY_VENV)"; \
	  [ -n "$(PYTHON)" ] || tests/python.sh $(PY_VERSION) >/dev/null; \
	  "$(PYTHON)" -m venv "$(GALAXY_VENV)" || { \
	    echo "make: '$(PYTHON) -m venv' failed; on Debian install python3-venv (apt-get install -y python3-venv)" >&2; exit 1; }; \
	  "$(GALAXY_VENV)/bin/python" -m pip install -q "$(GALAXY_CORE)"; \
	  echo "$(GALAXY_CORE)" > "$(GALAXY_VENV)/.stamp"; \
	fi
	@echo "==> building and installing containerops.lifecycle into $(COLLECTIONS)"
	rm -rf "$(DIST)"
	mkdir -p "$(DIST)" "$(COLLECTIONS)"
	"$(GALAXY_VENV)/bin/ansible-galaxy" collection build --force --output-path "$(DIST)" "$(CURDIR)"
	ANSIBLE_COLLECTIONS_PATH="$(COLLECTIONS)" "$(GALAXY_VENV)/bin/ansible-galaxy" collection install --force \
	  -p "$(COLLECTIONS)" "$(DIST)"/containerops-lifecycle-*.tar.gz

# ---------------------------------------------------------------- engine / image
engine:
	@tests/engine.sh ensure

image: engine
	@IMAGE="$(IMAGE)" tests/images/build-test-image.sh

# ---------------------------------------------------------------- the suite's own engine
# Whatever of the suite creates containers (integration, matrix, molecule) runs on an engine of the suite's own,
# with DOCKER_HOST pointing at it: tests/suite_engine.py starts a private dockerd (its own socket, data root,
# exec root, bridge and address pool), the test image is built into it, and it is stopped and removed at the end.
# The user's engine and its containers are never listed nor touched. `make test` starts one for all its steps;
# `make integration` (or any of ON_ENGINE_TARGETS) alone starts one for itself and runs again inside it
# (where their recipes are defined under their own names; outside, as on-engine-*, which nothing calls).
SUITE_ENGINE := "$(BIN)/python" -m tests.suite_engine
ON_ENGINE_TARGETS := suite integration integration-targets integration-pytest integration-podman release-checks matrix \
	molecule
ifeq ($(and $(CONTAINEROPS_SUITE_ENGINE),$(filter $(CONTAINEROPS_SUITE_ENGINE),$(DOCKER_HOST))),)
ON_ENGINE := on-engine-
.PHONY: $(ON_ENGINE_TARGETS)
$(ON_ENGINE_TARGETS): venv
	@$(SUITE_ENGINE) $(MAKE) --no-print-directory $@
else
ON_ENGINE :=
endif

# ---------------------------------------------------------------- ansible-test tree
# ansible-test needs the collection at .../ansible_collections/<ns>/<name> as a real tree.
# The copy holds what git would hold (tracked + untracked-but-not-ignored files). It gets
# its own `git init`: otherwise ansible-test walks up to this checkout's .git, where
# .build/ is ignored, and finds no files at all.
tree:
	@echo "==> copying the checkout to $(TREE)"
	@rm -rf "$(TREE)"
	@mkdir -p "$(TREE)"
	@if git -C "$(CURDIR)" rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  git -C "$(CURDIR)" ls-files -z --cached --others --exclude-standard; \
	else \
	  find . \( -name .git -o -name .venv -o -name .build -o -name __pycache__ -o -name .pytest_cache \
	           -o -name .ruff_cache -o -name .hypothesis -o -name .mypy_cache \) -prune \
	         -o \( -type f -o -type l \) -printf '%P\0'; \
	fi | while IFS= read -r -d '' f; do \
	  [ -e "$$f" ] || [ -L "$$f" ] || continue; \
	  printf '%s\0' "$$f"; \
	done | xargs -0 --no-run-if-empty cp -a --parents -t "$(TREE)"
	@git -C "$(TREE)" init -q

# ---------------------------------------------------------------- checks
lint: venv
	@echo "==> ruff check"
	"$(BIN)/ruff" check .
	@echo "==> antsibull-changelog lint (the changelog fragments)"
	"$(BIN)/antsibull-changelog" lint
	@echo "==> mypy (pyproject.toml [tool.mypy]: the packages as Ansible imports them, linked as conftest.py links them)"
	@mkdir -p "$(BUILD)/pytest-tree/ansible_collections/containerops"
	@ln -sfn "$(CURDIR)" "$(BUILD)/pytest-tree/ansible_collections/containerops/lifecycle"
	"$(BIN)/mypy"

# Unit tests use no engine: they run without the suite engine's address (or the user's), as on a bare machine.
NO_ENGINE := env -u DOCKER_HOST -u CONTAINEROPS_SUITE_ENGINE
units: venv
	@echo "==> unit tests"
	@$(call run_pytest,$(NO_ENGINE) "$(BIN)/python" -m pytest tests/unit,tests/unit)

# Sanity tests with extra requirements (pylint, validate-modules, yamllint, ...) get their own
# virtualenvs under ~/.ansible/test/venv, pip-installed from PyPI on first use and reused after.
# Their pip bootstrap script normally comes from ci-files.testing.ansible.com; ansible-test-pip.sh
# provides it offline.
SANITY_PATHS ?= plugins/
sanity: venv tree
	@echo "==> ansible-test sanity ($(SANITY_PATHS))"
	@tests/ansible-test-pip.sh "$(BIN)/python"
	cd "$(TREE)" && $(ANSIBLE_TEST_ENV) "$(BIN)/ansible-test" sanity --local --python $(PY_VERSION) \
	  --color no $(SANITY_ARGS) $(SANITY_PATHS)

# ansible-test runs targets with the venv python (written into its inventory) and a filtered
# environment: only PATH, HOME and a few others pass through, not DOCKER_HOST. The suite's engine reaches the
# targets as containerops_docker_host, from the integration_config.yml that ansible-test hands to the play.
# INTEGRATION_ARGS (e.g. a target's name) and INTEGRATION_TESTS (pytest paths or ids) narrow what runs,
# INTEGRATION_IGNORE (paths) leaves out, INTEGRATION_MARKS selects by mark (pytest -m, e.g. 'not podman'); pytest
# names the slowest tests at the end (--durations).
INTEGRATION_TESTS ?= tests/integration
INTEGRATION_IGNORE ?=
INTEGRATION_MARKS ?=
$(ON_ENGINE)integration: $(ON_ENGINE)integration-targets $(ON_ENGINE)integration-pytest

$(ON_ENGINE)integration-targets: venv image collection tree
	@echo "==> ansible-test integration"
	@if compgen -G "tests/integration/targets/*/tasks/main.yml" >/dev/null; then \
	  echo "+ ansible-test integration --local --python $(PY_VERSION) -v $(INTEGRATION_ARGS)  (in $(TREE))"; \
	  printf 'containerops_docker_host: "%s"\n' "$$DOCKER_HOST" > "$(TREE)/tests/integration/integration_config.yml"; \
	  cd "$(TREE)" && $(ANSIBLE_TEST_ENV) \
	    "$(BIN)/ansible-test" integration --local --python $(PY_VERSION) --color no -v $(INTEGRATION_ARGS); \
	else \
	  echo "make: note: no integration targets (tests/integration/targets/*/tasks/main.yml)"; \
	fi

$(ON_ENGINE)integration-pytest: venv image collection
	@echo "==> pytest $(INTEGRATION_TESTS)"
	@if [ -n "$$(find tests/integration -path tests/integration/targets -prune -o -name 'test_*.py' -print -quit)" ]; then \
	  echo "+ pytest $(INTEGRATION_TESTS) $(addprefix --ignore=,$(INTEGRATION_IGNORE)) $(if $(INTEGRATION_MARKS),-m '$(INTEGRATION_MARKS)') -q --durations=25"; \
	  $(call run_pytest,$(ANSIBLE_ENV) "$(BIN)/python" -m pytest $(INTEGRATION_TESTS) -q --durations=25 \
	    --ignore=tests/integration/targets $(addprefix --ignore=,$(INTEGRATION_IGNORE)) \
	    $(if $(INTEGRATION_MARKS),-m '$(INTEGRATION_MARKS)'),tests/integration); \
	else \
	  echo "make: note: no pytest integration tests (tests/integration/**/test_*.py)"; \
	fi

# The integration tests' podman cases (mark podman) but those in PODMAN_IGNORE (paths), on the suite's Podman
# service: the one PODMAN_SERVICE started around this make (CONTAINEROPS_PODMAN_DIR), else one of pytest's own.
PODMAN_SERVICE := "$(BIN)/python" -m tests.integration.podman_service
PODMAN_IGNORE ?=
$(ON_ENGINE)integration-podman: venv image collection
	@echo "==> pytest -m podman tests/integration $(addprefix --ignore=,$(PODMAN_IGNORE))"
	@$(call run_pytest,$(ANSIBLE_ENV) "$(BIN)/python" -m pytest tests/integration -m podman -q --durations=10 \
	  --ignore=tests/integration/targets $(addprefix --ignore=,$(PODMAN_IGNORE)),tests/integration -m podman)

# The release and the rendered docs, checked as users get them (pytest tests/release, tests/docs); the release's
# roles run once from the tarball, on the suite's engine.
$(ON_ENGINE)release-checks: venv image collection
	@echo "==> pytest tests/release"
	@$(call run_pytest,$(ANSIBLE_ENV) "$(BIN)/python" -m pytest tests/release -q,tests/release)

docs-checks: venv collection
	@echo "==> pytest tests/docs"
	@$(call run_pytest,$(ANSIBLE_ENV) "$(BIN)/python" -m pytest tests/docs -q,tests/docs)

# The whole suite, on engines of its own. lint and units first (a minute: a mistake there stops it early), then
# what the lanes share is made once (the test image in the suite's engine, the collection, the tree), then four
# lanes side by side (tests/parallel.sh; each line of their output prefixed with its lane's name, logs in
# .build/logs): the integration tests but INTEGRATION_SPLIT on the suite's engine; INTEGRATION_SPLIT, the matrix,
# and SUITE_CHECKS each on an engine of its own (tests/suite_engine.py --own), so no container name of one lane
# meets another's. A lane makes its steps one after the other and all of them even after a failure
# (tests/steps.sh -k), without making again what was made for all (make -o); the checks lane copies a tree of its
# own (CHECKS_TREE), where ansible-test writes while the matrix copies the first. SUITE_FIRST names the first steps.
SUITE_FIRST       ?= lint units
SUITE_CHECKS      ?= sanity integration-targets ansible-lint molecule release-checks docs-checks
# The second integration lane's share: in the last CI run the first lane took 1793 s, the second 1461 s (its
# podman cases 399 s of it); test_exact_names.py (about 170 s) moved to the second. The second lane also runs every
# podman case (mark podman; those of INTEGRATION_SPLIT's files with them), beside one Podman service
# (PODMAN_SERVICE) for both its pytest runs; the first leaves them out. The matrix's playbook through every backend
# runs on one Podman service too.
INTEGRATION_SPLIT ?= tests/integration/servers tests/integration/test_bad_input.py \
	tests/integration/test_backend_contract.py tests/integration/test_eda.py tests/integration/test_dockhand.py \
	tests/integration/test_exact_names.py
CHECKS_TREE       := $(BUILD)/checks-tree/ansible_collections/containerops/lifecycle
.PHONY: docs-checks
test: setup venv
	@$(MAKE) --no-print-directory suite
	@echo "==> all tests passed"

$(ON_ENGINE)suite: venv
	@tests/steps.sh $(SUITE_FIRST) image collection tree
	@STEP_MAKE_ARGS="-o collection -o tree" tests/parallel.sh "$(BUILD)/logs" \
	  "integration=INTEGRATION_IGNORE='$(INTEGRATION_SPLIT)' INTEGRATION_MARKS='not podman' tests/steps.sh -k integration-pytest" \
	  "integration2=INTEGRATION_TESTS='$(INTEGRATION_SPLIT)' PODMAN_IGNORE='$(INTEGRATION_SPLIT)' $(SUITE_ENGINE) --own $(PODMAN_SERVICE) tests/steps.sh -k image integration-pytest integration-podman" \
	  "matrix=$(SUITE_ENGINE) --own $(PODMAN_SERVICE) tests/steps.sh -k image matrix" \
	  "checks=STEP_MAKE_ARGS='-o collection TREE=$(CHECKS_TREE)' $(SUITE_ENGINE) --own tests/steps.sh -k image $(SUITE_CHECKS)"

# ---------------------------------------------------------------- roles: ansible-lint, molecule
.PHONY: ansible-lint molecule
# ansible-lint, production profile (.ansible-lint), offline, over the whole collection root (galaxy.yml,
# meta/, changelog, roles, playbooks, the execution environment; exclusions in .ansible-lint); the
# collection installed in .build/collections resolves containerops.lifecycle.* in them.
ANSIBLE_LINT_PATHS ?=
ansible-lint: venv collection
	@echo "==> ansible-lint --offline $(or $(ANSIBLE_LINT_PATHS),(the collection root))"
	$(ANSIBLE_ENV) "$(BIN)/ansible-lint" --offline --nocolor $(ANSIBLE_LINT_PATHS)

# Molecule scenarios (role:scenario) on the suite's engine, one after the other; every
# scenario runs even if an earlier one failed, and the target fails at the end naming the failed ones.
MOLECULE_SCENARIOS ?= maintenance_window:default maintenance_window:rollback blue_green:default blue_green:rollback
$(ON_ENGINE)molecule: venv image collection
	@failed=""; for spec in $(MOLECULE_SCENARIOS); do \
	  role="$${spec%%:*}"; scenario="$${spec#*:}"; \
	  echo "==> molecule test -s $$scenario  (roles/$$role)"; start=$$(date +%s); \
	  if (cd "roles/$$role" && $(ANSIBLE_ENV) NO_COLOR=1 PY_COLORS=0 ANSIBLE_FORCE_COLOR=0 \
	        "$(BIN)/molecule" test -s "$$scenario"); then \
	    echo "==> molecule $$role:$$scenario passed in $$(( $$(date +%s) - start )) s"; \
	  else \
	    echo "==> molecule $$role:$$scenario FAILED after $$(( $$(date +%s) - start )) s"; failed="$$failed $$spec"; \
	  fi; \
	done; \
	if [ -n "$$failed" ]; then echo "make: molecule scenarios failed:$$failed" >&2; exit 1; fi

# ---------------------------------------------------------------- release: changelog, tarball, docs, EE, matrix
.PHONY: changelog release docs ee matrix
GALAXY_VERSION = $(shell sed -n 's/^version: *//p' galaxy.yml)

# The changelog of galaxy.yml's version (the one being prepared) from every fragment not recorded in an
# earlier release, re-read each time: CHANGELOG.rst, CHANGELOG.md and changelogs/changelog.yaml.
changelog: venv
	@echo "==> changelog for $(GALAXY_VERSION)"
	"$(BIN)/antsibull-changelog" lint
	PATH="$(BIN):$$PATH" "$(BIN)/antsibull-changelog" release --version "$(GALAXY_VERSION)" --update-existing \
	  --refresh-fragments --reload-plugins --refresh-plugins
	"$(BIN)/antsibull-changelog" lint-changelog-yaml changelogs/changelog.yaml

# make release [VERSION=x.y.z | BUMP=major|minor|patch]: galaxy.yml's version set (or kept), its changelog,
# then the tarball in .build/dist (installed into .build/collections, as `make collection` does).
release: venv
	@current="$(GALAXY_VERSION)"; new="$(VERSION)"; \
	if [ -n "$(BUMP)" ]; then \
	  new="$$("$(BIN)/python" -c 'import sys; v = [int(x) for x in sys.argv[1].split(".")]; \
	    i = {"major": 0, "minor": 1, "patch": 2}[sys.argv[2]]; v[i] += 1; v[i + 1:] = [0] * (2 - i); \
	    print(".".join(map(str, v)))' "$$current" "$(BUMP)")" || { echo "make: BUMP is major, minor or patch" >&2; exit 1; }; \
	fi; \
	if [ -n "$$new" ] && [ "$$new" != "$$current" ]; then \
	  echo "$$new" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$$' || { echo "make: VERSION must be x.y.z, not '$$new'" >&2; exit 1; }; \
	  echo "==> galaxy.yml: version $$current -> $$new"; \
	  sed -i "s/^version: .*/version: $$new/" galaxy.yml; \
	fi
	$(MAKE) --no-print-directory changelog
	$(MAKE) --no-print-directory collection
	@echo "==> released $$(sed -n 's/^version: *//p' galaxy.yml): $$(ls "$(DIST)"/containerops-lifecycle-*.tar.gz)"

# The rendered docs: the lint antsibull-docs runs for docs.ansible.com (plugins and the roles' argument
# specs), then every plugin, module and role of the installed collection as an HTML site (docs/site/).
DOCS := $(BUILD)/docs
docs: venv collection
	@echo "==> antsibull-docs lint-collection-docs"
	cd "$(COLLECTIONS)/ansible_collections/containerops/lifecycle" && $(ANSIBLE_ENV) \
	  "$(BIN)/antsibull-docs" lint-collection-docs --plugin-docs --validate-collection-refs all --check-extra-docs-refs .
	@echo "==> docs/site/build.sh $(DOCS)"
	$(ANSIBLE_ENV) docs/site/build.sh "$(DOCS)"

# The build context of execution-environment.yml (ansible-builder create: no network, no image built).
ee: venv
	@echo "==> ansible-builder create -f execution-environment.yml -c $(BUILD)/ee/context"
	rm -rf "$(BUILD)/ee"
	"$(BIN)/ansible-builder" create -f execution-environment.yml -c "$(BUILD)/ee/context" --output-filename Containerfile

# The older ansible-core releases requires_ansible admits (the venv runs the newest), MATRIX: unit tests, sanity
# and one playbook through every backend on each, one venv per version, in parallel (tests/matrix.sh).
$(ON_ENGINE)matrix: venv image collection tree
	@echo "==> tests/matrix.sh $(MATRIX)"
	@tests/matrix.sh $(MATRIX)

# ---------------------------------------------------------------- demo
demo: venv image collection
	@echo "==> playbooks/demo.yml"
	$(ANSIBLE_ENV) "$(BIN)/ansible-playbook" -i localhost, -c local playbooks/demo.yml \
	  -e ansible_python_interpreter="$(BIN)/python" $(DEMO_ARGS)

# ---------------------------------------------------------------- benchmark
# Never part of `make test`: it prints ratios measured in one run and writes benchmarks/RESULTS.md.
bench: venv image collection
	@echo "==> benchmarks/run.py $(BENCH_ARGS)"
	$(ANSIBLE_ENV) "$(BIN)/python" benchmarks/run.py $(BENCH_ARGS)

# Never part of `make test` either (root: it runs three private dockerd): playbooks/fleet.yml over 1 engine x 300
# containers against 3 engines x 100 and the SDK floor, and the module's peak memory at 300 and 1000 containers;
# writes benchmarks/FLEET.md.
.PHONY: bench-fleet
bench-fleet: venv image collection
	@echo "==> benchmarks/fleet.py $(BENCH_FLEET_ARGS)"
	$(ANSIBLE_ENV) "$(BIN)/python" benchmarks/fleet.py $(BENCH_FLEET_ARGS)

# Never part of `make test`: one private engine through its socket, ssh:// (a real sshd) and mutual TLS.
.PHONY: bench-transports
bench-transports: venv image collection
	@echo "==> benchmarks/transports.py $(BENCH_TRANSPORTS_ARGS)"
	$(ANSIBLE_ENV) "$(BIN)/python" benchmarks/transports.py $(BENCH_TRANSPORTS_ARGS)

# Never part of `make test` either (root: a private dockerd; ansible-rulebook and Java 17): the autoheal rulebook's
# crash and unhealthy to running latencies, its burst heals at 20 and 50, the event source's CPU and memory idle
# and under 1,000 events; writes benchmarks/AUTOHEAL.md (the table README's Event-Driven Ansible section shows).
.PHONY: bench-autoheal
bench-autoheal: venv image collection
	@echo "==> benchmarks/autoheal.py $(BENCH_AUTOHEAL_ARGS)"
	$(ANSIBLE_ENV) "$(BIN)/python" benchmarks/autoheal.py $(BENCH_AUTOHEAL_ARGS)

# Never part of `make test` either: prints, as Markdown, the timelines (from status logs) of a maintenance
# window over 5 containers and of a blue-green swap, with how long the alias went unanswered.
timeline: venv image collection
	@echo "==> benchmarks/workflow_timeline.py (also written to benchmarks/TIMELINE.md)"
	$(ANSIBLE_ENV) "$(BIN)/python" benchmarks/workflow_timeline.py > "$(BUILD)/timeline.md"
	{ echo "# Workflow timelines"; echo; echo "Measured $$(date -u +%F) by \`make timeline\` (one run, this machine, the local Docker engine)."; \
	  echo; cat "$(BUILD)/timeline.md"; } > benchmarks/TIMELINE.md
	@cat benchmarks/TIMELINE.md

# ---------------------------------------------------------------- cleanup
clean:
	rm -rf "$(BUILD)" .pytest_cache .ruff_cache .hypothesis .mypy_cache
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf "$(VENV)"
