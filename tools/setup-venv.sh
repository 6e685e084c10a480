#!/usr/bin/env bash
# Create (or refresh) the project-local virtual environment .venv with a Python >= 3.12.
#
# Finding Python, in this order:
#   1. $ECMSIM_PYTHON, if set;
#   2. an interpreter >= 3.12 that can already import dolfinx 0.11 (conda, spack, a cluster
#      module): the venv then sees its site-packages and the dolfinx wheel is NOT installed;
#   3. python3.12, python3.13, python3.14, python3, python on PATH;
#   4. pyenv's installed versions ($PYENV_ROOT or ~/.pyenv), 3.12 first (the version the
#      dolfinx wheel and this project are tested with), then newer ones.
# A candidate counts only if running it works and reports >= 3.12 (a pyenv shim for an
# inactive version fails to run and is skipped).
#
# Re-running is cheap: nothing is reinstalled unless pyproject.toml changed.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
venv=.venv
stamp=$venv/.ecmsim-setup

say() { printf '[setup] %s\n' "$*" >&2; }

ok_version() { "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
has_dolfinx() {
    "$1" -c 'import sys
try:
    import dolfinx_solver  # noqa: F401
except ImportError:
    pass
import dolfinx
sys.exit(0 if dolfinx.__version__.startswith("0.11") else 1)' >/dev/null 2>&1
}

candidates() {
    if [ -n "${ECMSIM_PYTHON:-}" ]; then echo "$ECMSIM_PYTHON"; return; fi
    local name
    for name in python3.12 python3.13 python3.14 python3 python; do
        command -v "$name" 2>/dev/null || true
    done
    local root=${PYENV_ROOT:-$HOME/.pyenv}
    if [ -d "$root/versions" ]; then
        # oldest minor first (3.12 before 3.13), newest patch first; CPython-looking folders only
        ls -1 "$root/versions" 2>/dev/null | grep -E '^3\.[0-9]+(\.[0-9]+)?$' | sort -t. -k1,1n -k2,2n -k3,3nr |
            while read -r v; do [ -x "$root/versions/$v/bin/python3" ] && echo "$root/versions/$v/bin/python3"; done
    fi
}

want=$(sha256sum pyproject.toml | cut -c1-16)
if [ -x "$venv/bin/python" ] && ok_version "$venv/bin/python" && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi

python=""
system_dolfinx=0
mapfile -t cands < <(candidates | awk '!seen[$0]++')
for c in "${cands[@]}"; do
    if ok_version "$c" && has_dolfinx "$c"; then python=$c; system_dolfinx=1; break; fi
done
if [ -z "$python" ]; then
    for c in "${cands[@]}"; do
        if ok_version "$c"; then python=$c; break; fi
    done
fi
if [ -z "$python" ]; then
    cat >&2 <<'MSG'
[setup] error: no Python >= 3.12 found.
[setup] Looked at $ECMSIM_PYTHON, python3.12..python3.14, python3 and python on PATH, and ~/.pyenv/versions.
[setup] Install one, then run the same command again, for example:
[setup]   pyenv install 3.12            (then nothing else: pyenv's versions are searched)
[setup]   sudo apt install python3.12 python3.12-venv
[setup]   uv python install 3.12 && export ECMSIM_PYTHON=$(uv python find 3.12)
[setup] or point ECMSIM_PYTHON at an existing interpreter >= 3.12.
MSG
    exit 2
fi

say "using $python ($("$python" -c 'import sys; print(sys.version.split()[0])'))"
rm -rf "$venv"
if [ "$system_dolfinx" = 1 ]; then
    say "dolfinx 0.11 is already importable there: the venv will use it (no dolfinx wheel)"
    "$python" -m venv --system-site-packages "$venv"
    # --system-site-packages shows the *base* interpreter's packages; when that Python is itself
    # a venv (or conda env layered on one), its own site-packages must be added explicitly.
    site_dir=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    "$python" -c 'import site; print("\n".join(site.getsitepackages()))' >"$site_dir/_ecmsim_host_dolfinx.pth"
    # mpi4py looks for the MPI runtime under sys.prefix/lib: a host venv that got MPI from the
    # PyPI `mpich` wheel keeps it in its own lib/, which the new venv must see too.
    host_prefix=$("$python" -c 'import sys; print(sys.prefix)')
    if [ "$host_prefix" != "$("$python" -c 'import sys; print(sys.base_prefix)')" ]; then
        for entry in "$host_prefix"/lib/*; do
            case "$(basename "$entry")" in python3*) continue ;; esac
            [ -e "$venv/lib/$(basename "$entry")" ] || ln -s "$entry" "$venv/lib/"
        done
    fi
    extras="test"
else
    "$python" -m venv "$venv"
    extras="fem,test"
fi
# pip quietly: its notices (index locations it skips, the editable-install banner of setuptools,
# version checks) are noise to someone who typed `make run`. Its whole output is kept in a log;
# if pip fails, the log is shown in full, so real errors stay visible.
pip_log=$venv/pip.log
quiet_pip() {
    if ! PYTHONWARNINGS=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \
        "$venv/bin/python" -m pip install --quiet --no-warn-script-location "$@" >"$pip_log" 2>&1; then
        cat "$pip_log" >&2
        say "error: pip install $* failed (log above, also in $pip_log)"
        exit 1
    fi
    # anything but the known notices is shown
    grep -v -E "^WARNING: Location '.*' is ignored|^WARNING: You are using pip version|^\[notice\]" "$pip_log" >&2 || true
}
quiet_pip --upgrade pip
say "installing ecmsim[$extras] (editable)"
quiet_pip -e ".[$extras]"
echo "$want" >"$stamp"
say "ready: $venv"
