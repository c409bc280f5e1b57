#!/usr/bin/env bash
# Debian's PostgreSQL server for the model-registry tests (tests/registry/), from the
# distribution's packages. The tests start their own throwaway cluster on loopback (see
# tests/postgres.py), so no "main" cluster is created. Never fails the build: without root or
# passwordless sudo, or offline, it says why and the PostgreSQL tests skip.
set -u
source "$(dirname "$0")/_debian.sh"

# /usr/local/bin/initdb and friends may be symlinks into here; Debian's binaries are what count.
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    exit 0
fi
may_install install_postgres "PostgreSQL (initdb)" "the PostgreSQL tests" || exit 0
echo "install_postgres: installing Debian's postgresql for the registry tests..."
# Debian's postinst would otherwise create (and try to start) a "main" cluster on port 5432.
$AS_ROOT mkdir -p /etc/postgresql-common/createcluster.d \
    && echo "create_main_cluster = false" \
        | $AS_ROOT tee /etc/postgresql-common/createcluster.d/furima-no-main.conf >/dev/null
if apt_install postgresql; then
    bin_dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    echo "install_postgres: installed ${bin_dir:-postgresql}"
else
    echo "install_postgres: apt-get could not install postgresql; the PostgreSQL tests will be" \
        "skipped."
fi
exit 0
