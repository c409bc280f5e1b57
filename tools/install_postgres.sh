#!/usr/bin/env bash
# Debian's PostgreSQL server for the model-registry tests (tests/registry/), from the
# distribution's packages. The tests start their own throwaway cluster on loopback (see
# tests/postgres.py), so no "main" cluster is created. Never fails the build: without root or
# passwordless sudo, or offline, it says why and the PostgreSQL tests skip.
set -u

# /usr/local/bin/initdb and friends may be symlinks into here; Debian's binaries are what count.
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    exit 0
fi
if [ "$(id -u)" = "0" ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n"
else
    echo "install_postgres: /usr/lib/postgresql/*/bin/initdb is missing and we are not root (no" \
        "passwordless sudo either); the PostgreSQL tests will be skipped. Install it with:" \
        "apt-get install postgresql"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_postgres: no apt-get here; install a PostgreSQL server (initdb, pg_ctl," \
        "postgres on PATH) by hand, or the PostgreSQL tests will be skipped."
    exit 0
fi
echo "install_postgres: installing Debian's postgresql for the registry tests..."
# Debian's postinst would otherwise create (and try to start) a "main" cluster on port 5432.
$as_root mkdir -p /etc/postgresql-common/createcluster.d \
    && echo "create_main_cluster = false" \
        | $as_root tee /etc/postgresql-common/createcluster.d/furima-no-main.conf >/dev/null
if $as_root apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends \
        postgresql >/dev/null; then
    bin_dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    echo "install_postgres: installed ${bin_dir:-postgresql}"
else
    echo "install_postgres: apt-get could not install postgresql; the PostgreSQL tests will be" \
        "skipped."
fi
exit 0
