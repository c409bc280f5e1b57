# Shared by tools/install_*.sh: install Debian packages for optional tests, never failing the
# build. Source it, then `may_install NAME WHAT SKIPPED || exit 0` and `apt_install PKG...`.

# Sets AS_ROOT ("" as root, "sudo -n" with passwordless sudo), or says why not and returns 1.
may_install() {
    local name=$1 what=$2 skipped=$3
    if [ "$(id -u)" = "0" ]; then
        AS_ROOT=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        AS_ROOT="sudo -n"
    else
        echo "$name: $what is missing and we are not root (no passwordless sudo either);" \
            "$skipped will be skipped."
        return 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "$name: no apt-get here; install $what by hand, or $skipped will be skipped."
        return 1
    fi
}

apt_install() {
    $AS_ROOT apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive $AS_ROOT apt-get install -y -qq \
            --no-install-recommends "$@" >/dev/null
}
