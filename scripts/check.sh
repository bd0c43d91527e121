#!/usr/bin/env bash
# The one check command (`make test`, and CI through .ci/run): lint, format, types, Django
# checks, then the whole test suite on SQLite (browser tests included) and again on
# PostgreSQL. Stops at the first failing stage and ends with how long each stage took.
#
# Environment:
#   CI=true                     a missing PostgreSQL fails the run instead of skipping the stage
#   WANGGE_TEST_POSTGRES_URL    the server to use (default postgresql://postgres@127.0.0.1:5432/postgres);
#                               the run makes its own database name and removes it afterwards
#   WANGGE_CHECK_STAGES         only these stages, e.g. "lint types" (default: all of them)
#   PYTEST_ADDOPTS              extra pytest options for both test stages (pytest reads it itself)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
VENV="${VENV:-.venv}"
if [[ ! -x "$VENV/bin/python" ]]; then
    echo "check: $VENV is missing; run 'make install' first" >&2
    exit 2
fi
export PATH="$ROOT/$VENV/bin:$PATH"
# The suite runs embedded unless a stage says otherwise; a developer's own settings for a
# running deployment must not leak into it.
unset DATABASE_URL REDIS_URL MQTT_URL WANGGE_DEMO WANGGE_DEV WANGGE_TEST_DB_NAME
export PYTHONDONTWRITEBYTECODE=1

in_ci() { [[ "${CI:-}" =~ ^(1|true|TRUE|True|yes)$ ]]; }

WORK="$(mktemp -d -t wangge-check.XXXXXX)"
PG_BASE_URL="${WANGGE_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
PG_DB="wangge_ci_$(date -u +%Y%m%d%H%M%S)_$$"
PG_USED=0

# --- postgres helpers (psycopg from the venv, so no client tools are needed) -----------
pg() {
    # pg <action> [name]: ping | url NAME | drop NAME (drops NAME and test_NAME*)
    python - "$PG_BASE_URL" "$@" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

base, action = sys.argv[1], sys.argv[2]
name = sys.argv[3] if len(sys.argv) > 3 else ""
parts = urlsplit(base)
if action == "url":
    print(urlunsplit(parts._replace(path="/" + name)))
    raise SystemExit(0)
try:
    conn = psycopg.connect(base, connect_timeout=3, autocommit=True)
except psycopg.Error as exc:
    print(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, file=sys.stderr)
    raise SystemExit(1)
with conn:
    if action == "ping":
        version = conn.execute("SHOW server_version").fetchone()
        print(version[0] if version else "?")
    elif action == "drop":
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname = %s OR datname LIKE %s",
            [name, "test\\_" + name.replace("_", "\\_") + "%"],
        ).fetchall()
        for (db,) in rows:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
            print(f"check: dropped database {db}")
PY
}

cleanup() {
    local code=$?
    if [[ "$PG_USED" == 1 ]]; then
        pg drop "$PG_DB" || echo "check: could not drop the databases of $PG_DB; drop them by hand" >&2
    fi
    rm -rf "$WORK"
    exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- stages ------------------------------------------------------------------------------
STAGE_NAMES=()
STAGE_TIMES=()
STAGE_RESULTS=()

banner() {
    printf '\n==== %s %s\n' "$1" "$(printf '=%.0s' $(seq 1 $((80 - ${#1}))))"
}

summary() {
    echo
    echo "==== summary ====================================================================="
    local i
    for i in "${!STAGE_NAMES[@]}"; do
        printf '  %-28s %-8s %6ss\n' "${STAGE_NAMES[$i]}" "${STAGE_RESULTS[$i]}" "${STAGE_TIMES[$i]}"
    done
    printf '  %-28s %-8s %6ss\n' "total" "" "$SECONDS"
}

KNOWN_STAGES="lint types django sqlite postgres"
for stage in ${WANGGE_CHECK_STAGES:-}; do
    if [[ " $KNOWN_STAGES " != *" $stage "* ]]; then
        echo "check: unknown stage '$stage' in WANGGE_CHECK_STAGES (known: $KNOWN_STAGES)" >&2
        exit 2
    fi
done

wanted() {
    [[ -z "${WANGGE_CHECK_STAGES:-}" ]] && return 0
    [[ " $WANGGE_CHECK_STAGES " == *" $1 "* ]]
}

# run_stage KEY "title" command...: time it, record it, stop everything when it fails.
run_stage() {
    local key=$1 title=$2
    shift 2
    if ! wanted "$key"; then
        return 0
    fi
    banner "$title"
    local start=$SECONDS code=0
    "$@" || code=$?
    STAGE_NAMES+=("$title")
    STAGE_TIMES+=($((SECONDS - start)))
    if [[ $code -ne 0 ]]; then
        STAGE_RESULTS+=("FAILED")
        summary
        echo
        echo "check: FAILED at stage '$title' (exit $code)"
        exit "$code"
    fi
    STAGE_RESULTS+=("ok")
}

skip_stage() {
    local title=$1 reason=$2
    banner "$title"
    echo "check: SKIPPED: $reason"
    STAGE_NAMES+=("$title")
    STAGE_TIMES+=(0)
    STAGE_RESULTS+=("skipped")
}

LINT_PATHS=()
for p in src tests benchmarks; do
    [[ -d "$p" ]] && LINT_PATHS+=("$p")
done

# Stage functions chain with `|| return`: bash ignores `set -e` inside a function that is
# called as `fn || code=$?`, so each step must pass its failure on itself.
lint() {
    ruff check "${LINT_PATHS[@]}" || return
    ruff format --check "${LINT_PATHS[@]}" || return
}

types() {
    mypy
}

django_checks() {
    local home="$WORK/django"
    mkdir -p "$home" || return
    echo "database: SQLite under a temporary WANGGE_HOME"
    WANGGE_DEV=1 WANGGE_HOME="$home" wangge manage check || return
    WANGGE_DEV=1 WANGGE_HOME="$home" wangge manage makemigrations --check --dry-run || return
}

# run_pytest LABEL [pytest args...]: pytest's "no tests collected" (5) is a failure here.
run_pytest() {
    local label=$1
    shift
    local code=0
    python -m pytest --junitxml="$WORK/junit-$label.xml" "$@" || code=$?
    if [[ $code -eq 5 ]]; then
        echo "check: pytest collected no tests ($label); the suite or its selection is broken" >&2
        return 1
    fi
    return "$code"
}

tests_sqlite() {
    local home="$WORK/sqlite"
    mkdir -p "$home" || return
    echo "database: SQLite, an in-memory test database (WANGGE_HOME is temporary)"
    WANGGE_HOME="$home" run_pytest sqlite
}

tests_postgres() {
    local home="$WORK/postgres"
    mkdir -p "$home" || return
    local url version
    url="$(pg url "$PG_DB")" || return
    version="$(pg ping)" || return
    echo "database: PostgreSQL $version at $url (pytest-django makes and drops test_$PG_DB)"
    PG_USED=1
    DATABASE_URL="$url" WANGGE_HOME="$home" run_pytest postgres -m "not e2e"
}

totals() {
    # One plain line with the counts of both test stages, from pytest's JUnit reports.
    python - "$WORK" <<'PY'
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
for report in sorted(Path(sys.argv[1]).glob("junit-*.xml")):
    root = ET.parse(report).getroot()
    for suite in root.iter("testsuite"):
        for key in total:
            total[key] += int(suite.get(key, 0))
failed = total["failures"] + total["errors"]
passed = total["tests"] - failed - total["skipped"]
if total["tests"]:
    print(f"tests: {passed} passed, {failed} failed, {total['skipped']} skipped")
PY
}

echo "check: $(python --version), $(nproc 2>/dev/null || echo '?') CPUs, CI=${CI:-false}"

run_stage lint "lint (ruff)" lint
run_stage types "types (mypy)" types
run_stage django "django check + migrations" django_checks
run_stage sqlite "tests on SQLite (+ browser)" tests_sqlite

if wanted postgres; then
    if reason="$(pg ping 2>&1)"; then
        run_stage postgres "tests on PostgreSQL" tests_postgres
    elif in_ci; then
        banner "tests on PostgreSQL"
        echo "check: PostgreSQL is not reachable at $PG_BASE_URL ($reason); CI needs it"
        STAGE_NAMES+=("tests on PostgreSQL")
        STAGE_TIMES+=(0)
        STAGE_RESULTS+=("FAILED")
        summary
        exit 1
    else
        skip_stage "tests on PostgreSQL" "PostgreSQL is not reachable at $PG_BASE_URL ($reason); \
start it or set WANGGE_TEST_POSTGRES_URL (under CI=true this stage fails instead)"
    fi
fi

summary
skipped=0
for result in "${STAGE_RESULTS[@]}"; do
    [[ "$result" == skipped ]] && skipped=$((skipped + 1))
done
if [[ $skipped -gt 0 ]]; then
    echo "check: passed, with $skipped stage(s) skipped (see above)"
else
    echo "check: all stages passed"
fi
totals
