# The first two commands a person needs: `make run` and `make test`. Both set everything up.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
export APPLIANCE_DATA_DIR ?= ./var

.PHONY: run test test-postgres check install format clean bench bench-asr eval

install:
	@VENV=$(VENV) EXTRAS=dev scripts/bootstrap.sh

# The runtime only: no test tools, no torch (the zero-config box never needs them).
run:
	@VENV=$(VENV) EXTRAS=runtime scripts/bootstrap.sh
	@VENV=$(VENV) scripts/run-dev.sh

# Tests run in PYTEST_WORKERS processes (pytest-xdist), each test file whole in one of them (its
# module fixtures, such as a role run or a loaded model, are made once). Two suit a 2-core box:
# much of a test waits on a subprocess, a browser or the disk. PYTEST_WORKERS=0 runs in one.
PYTEST_WORKERS ?= 2
PARALLEL := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)

# Everything but the Ansible role runs (make test-roles) and the converge (make test-converge),
# which take minutes of package work; CI (.ci/run) runs all three.
test:
	@VENV=$(VENV) EXTRAS=dev WITH_TEST_TOOLS=1 scripts/bootstrap.sh
	$(BIN)/pytest -q $(PARALLEL) -m "not roles"

# Each Ansible role run for real on this machine (as root): accounts, clusters, nginx, Prometheus.
.PHONY: test-roles
test-roles:
	@VENV=$(VENV) EXTRAS=dev WITH_TEST_TOOLS=1 scripts/bootstrap.sh
	$(BIN)/pytest -q $(PARALLEL) -m roles tests/ansible

# The database-facing tests again, against PostgreSQL (.ci/run starts one for this). Left out:
# drafting and `appliance draft`, which turn text into a draft and never open a database (the
# import contract drafting-without-database holds the first to it), and the Chromium tests of
# the pages' scripts, whose server side the route, recording and job tests cover here; the
# killed-server recording test stays.
PG_LEFT_OUT := tests/appliance/drafting tests/appliance/cli/test_draft.py \
	tests/webui/test_in_browser.py tests/webui/test_streamed_recording_in_browser.py \
	tests/webui/test_review_journey.py tests/webui/test_suggestions_in_browser.py \
	tests/webui/test_measure_chart_in_browser.py
test-postgres: install
	@test -n "$$APPLIANCE_TEST_DATABASE_URL" || { echo "set APPLIANCE_TEST_DATABASE_URL (see scripts/start-test-postgres.sh)"; exit 2; }
	$(BIN)/pytest -q $(PARALLEL) -m "not sqlite_only" tests/appliance tests/webui \
		$(addprefix --ignore=,$(PG_LEFT_OUT))

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# Benchmarks print tables; they are never part of `make test`.
bench: install
	$(BIN)/python -m bench.web_requests
	$(BIN)/python -m bench.crypto_audit_cost
	$(BIN)/python -m bench.pipeline
	$(BIN)/python -m bench.streaming
	$(BIN)/python -m bench.note_copies
	$(BIN)/python -m bench.note_workflow
	$(BIN)/python -m bench.write_lock

bench-asr: install
	$(BIN)/python -m bench.asr

# 50 clinicians for 5 minutes on SQLite and PostgreSQL (APPLIANCE_TEST_DATABASE_URL), then the
# saturation point with 1 and 2 web processes (bench/load.py; LOAD_ARGS="--seconds 30" for a
# smoke run). Prints tables.
.PHONY: bench-load
bench-load: install
	$(BIN)/python -m bench.load $(LOAD_ARGS)

# Draft quality on the 22 labelled development dictations, heard in two voices (espeak-ng,
# Piper) and in five variants of the Piper audio, then on the 14 held-out ones (never tuned on;
# both voices, no variants), each reported on its own (prints tables; never part of `make test`).
# Installs sox for the variants when run as root. A quick run: make eval EVAL_ARGS="--voices
# piper --variants none" EVAL_HELDOUT_ARGS="--voices piper" (python -m eval.run --help).
eval:
	@VENV=$(VENV) EXTRAS=dev WITH_EVAL_TOOLS=1 scripts/bootstrap.sh
	$(BIN)/python -m eval.run $(EVAL_ARGS)
	$(BIN)/python -m eval.run --set heldout --variants none --no-streamed $(EVAL_HELDOUT_ARGS)
	$(BIN)/python -m eval.probes

# site.yml on a bare Debian 12 tree (debootstrap, cached in /var/cache/appliance-ci) for the
# inventories, checked in the tree with the real tools; needs root. .ci/run runs it after make test.
.PHONY: test-converge
# The two trees (small practice, hospital on one host) converge side by side, one per process:
# much of a converge waits on apt, pip and the disk. A tree's first converge, a module fixture,
# takes longer than the 10 minutes after which pytest would dump its stacks as a suspected hang.
test-converge: install
	APPLIANCE_CONVERGE=1 $(BIN)/pytest -q -n 2 --dist loadfile -o faulthandler_timeout=1800 \
		tests/converge

# ansible-lint over ansible/ (production profile, offline); make test runs it too
# (tests/ansible/test_lint.py).
.PHONY: lint-ansible
lint-ansible: install
	cd ansible && PATH="$(abspath $(BIN)):$$PATH" ansible-lint

# Issue 11's fault drill: serve and model-server SIGKILLed 20 times while dictations flow, a
# PostgreSQL outage, a full data folder (prints tables; never part of `make test`; needs root
# for the private PostgreSQL and the tmpfs, and says what it skipped without it).
.PHONY: drill-faults
drill-faults: install
	$(BIN)/python -m bench.fault_drill

# Issue 11's hostile-input drill: 200 hostile posts to every form and upload route, as every
# kind of visitor (prints a table; never part of `make test`, which runs 30 a route). On SQLite,
# or on the (emptied) test database when APPLIANCE_TEST_DATABASE_URL is set.
.PHONY: fuzz
fuzz: install
	$(BIN)/python -m bench.hostile_input
