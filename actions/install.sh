#!/usr/bin/env bash
# Installs the toto-actions package from this checkout of the actions (the directory above
# actions/, so the Python code and templates are exactly the version the workflow pinned) into a
# virtual environment of its own, and prints the path of its `toto-actions` command on stdout.
# Progress goes to stderr, in a log group under GitHub Actions.
#
# What is installed is locked: actions/requirements.txt pins every dependency and the build
# backend with the hashes of their files (scripts/lock regenerates it from pyproject.toml), the
# installer checks every hash, then the checkout itself is built without build isolation (the
# locked backend) and installed without dependencies. Nothing is resolved from lower bounds.
#
# The environment is kept in a cache directory that outlives the job on a self-hosted or cached
# runner, under a key that hashes what decides the install: pyproject.toml, the lock, every file
# of toto_actions/ and workflows-templates/, and the interpreter with its version. A warm start
# computes the key, finds the marker of a complete environment, checks that every file the
# installed distributions recorded is still there and as the install recorded it in the marker
# (its sha256, computed again only when its size or modification time changed), and that
# site-packages holds nothing the install did not put there (a .pth file runs at every start):
# a damaged or altered environment is rebuilt, not reused. Then it prints its path: no
# installer, no network. Every installer runs as `python -P -m ...` (or from the cache
# directory): a `uv` or `pip` package in the caller's working directory is never imported. A cold start builds a new environment in a
# temporary directory beside the others with uv (on PATH, `python -m uv`, or else the uv pinned
# in actions/uv-requirements.txt, fetched with hash checking into the cache once) or
# pip, then renames it into place: two jobs at once, or an interrupted install, never leave a
# half environment. Old environments beyond the last few used are then removed. The download
# cache of uv or pip sits in the same cache directory, so a new version reuses the wheels.
#
#   $TOTO_ACTIONS_CACHE/envs/<pyX.Y>-<key>/   complete environments (marker .toto-actions-env)
#   $TOTO_ACTIONS_CACHE/envs/.build-*         installs in progress (or interrupted: pruned later)
#   $TOTO_ACTIONS_CACHE/tools/uv-<version>-<machine>/bin/uv   the bootstrapped uv
#   $TOTO_ACTIONS_CACHE/uv, .../pip           the installers' download caches
#
# Settings, all optional:
#   TOTO_ACTIONS_CACHE      the cache directory (default $RUNNER_TOOL_CACHE/toto-actions, else
#                           ${XDG_CACHE_HOME:-$HOME/.cache}/toto-actions)
#   TOTO_ACTIONS_PYTHON     the interpreter (default: the first of python3, python3.14 ...
#                           python3.11, python that is Python 3.11 or newer)
#   TOTO_ACTIONS_INSTALLER  auto (default: uv, bootstrapped when missing; pip if that fails),
#                           uv or pip
#   TOTO_ACTIONS_KEEP       how many environments to keep, most recently used first (default 5)
set -euo pipefail

script_dir="${BASH_SOURCE[0]%/*}"
[ "$script_dir" = "${BASH_SOURCE[0]}" ] && script_dir=.
checkout="$(cd "$script_dir/.." && pwd -P)"
lock="$checkout/actions/requirements.txt"
uv_lock="$checkout/actions/uv-requirements.txt"
cache="${TOTO_ACTIONS_CACHE:-${RUNNER_TOOL_CACHE:-${XDG_CACHE_HOME:-${HOME:-}/.cache}}/toto-actions}"
case "$cache" in
/*) ;;
*) cache="$PWD/$cache" ;;
esac
marker=.toto-actions-env
in_actions=false
[ "${GITHUB_ACTIONS:-}" = true ] && in_actions=true
group_open=false
installing=false
build=""

say() { printf 'toto-actions: %s\n' "$*" >&2; }

warn() {
    if $in_actions; then
        echo "::warning::toto-actions: $*" >&2
    else
        say "$*"
    fi
}

report_error() {
    if $group_open; then
        echo "::endgroup::" >&2
        group_open=false
    fi
    if $in_actions; then
        echo "::error::$*" >&2
    else
        echo "error: $*" >&2
    fi
}

fail() {
    installing=false
    report_error "toto-actions install: $*"
    exit 1
}

on_exit() {
    local status=$?
    if [ -n "$build" ] && [ -e "$build" ]; then
        rm -rf -- "$build"
    fi
    if [ "$status" -ne 0 ] && $installing; then
        report_error "toto-actions could not be installed from $checkout (exit $status, see above)"
    fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Prints the environment's name (the Python version and a hash of what decides the install), a
# tab, and the state of that environment in the cache: absent, ok, or damaged, a tab and why.
# Damaged: a file that an installed distribution recorded (RECORD) is missing, a file differs
# from the size and sha256 the marker recorded, or site-packages holds a file no install put
# there. On a Python older than 3.11 prints its version and exits 3; on an error, prints it
# and exits 4.
# shellcheck disable=SC2016
key_script='
import sys
if sys.version_info < (3, 11):
    print(sys.version.split()[0])
    sys.exit(3)
try:
    import hashlib
    import os

    root, envs, marker = sys.argv[1:4]


    def key():
        digest = hashlib.sha256(b"toto-actions environment, layout 3\0")
        digest.update(("%s\0%s\0" % (sys.version, os.path.realpath(sys.executable))).encode())
        paths = ["pyproject.toml", "actions/requirements.txt"]
        for top in ("toto_actions", "workflows-templates"):
            for directory, subdirectories, files in os.walk(os.path.join(root, top)):
                subdirectories[:] = [name for name in subdirectories if name != "__pycache__"]
                for name in files:
                    if not name.endswith((".pyc", ".pyo")):
                        paths.append(os.path.relpath(os.path.join(directory, name), root))
        for path in sorted(paths):
            with open(os.path.join(root, path), "rb") as file:
                data = file.read()
            digest.update(b"%s\0%d\0" % (path.encode(), len(data)))
            digest.update(data)
        return "py%d.%d-%s" % (sys.version_info[0], sys.version_info[1], digest.hexdigest()[:16])


    def recorded_paths(record):
        # RECORD is CSV: path,hash,size; a path with a comma or a quote is quoted. Parsed by
        # hand: the csv module imports re, which would double the cost of a warm start.
        with open(record, encoding="utf-8") as file:
            for line in file:
                line = line.rstrip("\r\n")
                if line.startswith("\""):
                    path = line[1:].split("\",", 1)[0].replace("\"\"", "\"")
                else:
                    path = line.rsplit(",", 2)[0]
                if path and not path.endswith(".pyc"):  # bytecode is a cache, not a part
                    yield path


    def changed(env, path, recorded):
        """None when the file at path (relative to env) is as the install recorded it (size,
        modification time, sha256), else how it is not. The hash is computed only when the
        size or the time differ (the quick check of git and rsync): a warm start stays fast."""
        try:
            status = os.stat(os.path.join(env, path))
        except OSError:
            return "is missing"
        if recorded is None:
            return "was not recorded at install"
        size, modified, digest = recorded
        if status.st_size == size and status.st_mtime_ns == modified:
            return None
        if status.st_size == size:
            with open(os.path.join(env, path), "rb") as file:
                if hashlib.sha256(file.read()).hexdigest() == digest:
                    return None
        return "does not match the hash recorded at install"


    def problem(env):
        """None when env is as installed, else what is missing or changed."""
        with open(os.path.join(env, marker), "rb") as file:
            body, _, seal = file.read().rstrip(b"\n").rpartition(b"\n")
        if seal != b"sealed " + hashlib.sha256(body).hexdigest().encode():
            return "its marker is incomplete"
        names, files = [], {}
        for line in body.decode("utf-8").split("\n"):
            kind, _, rest = line.partition(" ")
            if kind == "distribution":
                names.append(rest)
            elif kind == "file":
                size, modified, digest, path = rest.split(" ", 3)
                files[path] = (int(size), int(modified), digest)
        if not names:
            return "its marker names no installed distribution"
        for path in ("bin/python", "bin/toto-actions"):
            if not os.path.exists(os.path.join(env, path)):
                return "%s is missing" % path
        site = os.path.join("lib", "python%d.%d" % sys.version_info[:2], "site-packages")
        installed = {path.split("/")[3] for path in files if path.startswith(site + "/")}
        for name in names:
            try:
                for path in recorded_paths(os.path.join(env, site, name, "RECORD")):
                    relative = os.path.normpath(os.path.join(site, path))
                    found = changed(env, relative, files.pop(relative, None))
                    if found:
                        return "%s of %s %s" % (os.path.normpath(path), name, found)
            except OSError:
                return "%s/RECORD is missing" % name
        for path, recorded in files.items():  # bin/, pyvenv.cfg, what no RECORD lists
            found = changed(env, path, recorded)
            if found:
                return "%s %s" % (path, found)
        for name in os.listdir(os.path.join(env, site)):  # a .pth file runs at every start
            if name != "__pycache__" and name not in installed:
                return "site-packages/%s was not installed" % name
        return None


    name = key()
    env = os.path.join(envs, name)
    if not os.path.exists(os.path.join(env, marker)):
        print("%s\tabsent\t" % name)
    else:
        found = problem(env)
        print("%s\t%s\t%s" % (name, "damaged" if found else "ok", found or ""))
except Exception as error:
    print("%s: %s" % (type(error).__name__, error))
    sys.exit(4)
'

# Rewrites the build directory's path into the final one in bin/ (script shebangs, activate
# scripts) and pyvenv.cfg, writes the marker (the distributions installed, and every file's
# size, modification time and sha256, which a warm start checks; sealed by the sha256 of all
# that, so that a marker cut short is no marker), renames the environment into place (or keeps the one a concurrent job renamed
# first), then removes environments beyond the last few used.
# shellcheck disable=SC2016
finish_script='
import hashlib
import os
import shutil
import sys
import time

build, final, marker, keep, installer = sys.argv[1:6]
envs = os.path.dirname(final)
old, new = build.encode(), final.encode()
paths = [os.path.join(build, "pyvenv.cfg")]
paths += [os.path.join(build, "bin", name) for name in os.listdir(os.path.join(build, "bin"))]
for path in paths:
    if os.path.islink(path) or not os.path.isfile(path):
        continue
    with open(path, "rb") as file:
        data = file.read()
    # A shebang past 127 bytes makes uv (and pip) write `#!/bin/sh` and an exec of the
    # interpreter: dash drops every variable whose name is not a shell name, the hyphenated
    # INPUT_ ones included; bash passes them on.
    trampoline = data.startswith(b"#!/bin/sh\n")
    if old in data or trampoline:
        data = data.replace(old, new)
        if trampoline:
            data = b"#!/usr/bin/env bash\n" + data[len(b"#!/bin/sh\n"):]
        with open(path + ".new", "wb") as file:
            file.write(data)
        shutil.copymode(path, path + ".new")
        os.replace(path + ".new", path)
site = os.path.join(build, "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
distributions = sorted(name for name in os.listdir(site) if name.endswith(".dist-info"))
lines = ["python %s" % sys.version.split()[0], "installer %s" % installer,
         "installed %s" % time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())]
lines += ["distribution %s" % name for name in distributions]
for directory, subdirectories, names in os.walk(build):
    subdirectories[:] = sorted(name for name in subdirectories if name != "__pycache__")
    for name in sorted(names):
        path = os.path.join(directory, name)
        if name.endswith(".pyc") or os.path.islink(path) or path == os.path.join(build, marker):
            continue  # bytecode is a cache; links name the interpreter
        status = os.stat(path)
        with open(path, "rb") as file:
            digest = hashlib.sha256(file.read()).hexdigest()
        lines.append("file %d %d %s %s" % (
            status.st_size, status.st_mtime_ns, digest, os.path.relpath(path, build)))
body = "\n".join(lines).encode("utf-8")
with open(os.path.join(build, marker), "wb") as file:
    file.write(body + b"\nsealed " + hashlib.sha256(body).hexdigest().encode() + b"\n")


def remove(path):
    trash = os.path.join(envs, ".trash-%s-%d" % (os.path.basename(path), os.getpid()))
    try:
        os.rename(path, trash)  # out of sight at once, then deleted
    except OSError:
        return
    shutil.rmtree(trash, ignore_errors=True)


try:
    os.rename(build, final)
except OSError:
    if os.path.exists(os.path.join(final, marker)):
        print("toto-actions: another job installed it first, using theirs", file=sys.stderr)
        shutil.rmtree(build, ignore_errors=True)
    else:  # something that is no complete environment holds the name
        remove(final)
        os.rename(build, final)

now = time.time()
used = []
for name in os.listdir(envs):
    path = os.path.join(envs, name)
    try:
        if name.startswith((".build-", ".trash-")):
            if now - os.lstat(path).st_mtime > 86400:  # interrupted a day ago or more
                remove(path)
        elif path != final:
            used.append((os.stat(os.path.join(path, marker)).st_mtime, path))
    except OSError:
        continue
used.sort(reverse=True)
for last_used, path in used[max(int(keep) - 1, 0):]:
    if now - last_used > 3600:  # never one that a running job may have just started
        print("toto-actions: removing the old environment %s" % path, file=sys.stderr)
        remove(path)
'

# Renames argv[1] to argv[2] unless argv[2] exists (then exits 1): `mv` would move it inside.
# shellcheck disable=SC2016
rename_script='
import os
import sys

os.rename(*sys.argv[1:3])
'

python=""
key=""
state=""
damage=""
if [ -n "${TOTO_ACTIONS_PYTHON:-}" ]; then
    candidates=("$TOTO_ACTIONS_PYTHON")
else
    candidates=(python3 python3.14 python3.13 python3.12 python3.11 python)
fi
tried=""
for candidate in "${candidates[@]}"; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    status=0
    found="$("$candidate" -I -S -c "$key_script" "$checkout" "$cache/envs" "$marker" 2>/dev/null)" ||
        status=$?
    if [ "$status" -eq 0 ]; then
        IFS=$'\t' read -r key state damage <<<"$found"
        python="$(command -v "$candidate")"
        [[ "$python" = /* ]] || python="$PWD/$python"
        break
    fi
    case "$status" in
    3) tried="$tried, $candidate is Python $found" ;;
    4) tried="$tried, $candidate failed: $found" ;;
    *) tried="$tried, $candidate does not run (exit $status)" ;;
    esac
done
if [ -z "$python" ]; then
    [ -n "$tried" ] || tried=", none of ${candidates[*]} is on PATH"
    fail "no Python 3.11 or newer found (${tried#, }); install one (e.g. with actions/setup-python) or set TOTO_ACTIONS_PYTHON"
fi
[ "$cache" != /toto-actions ] || fail "no cache directory: set TOTO_ACTIONS_CACHE or HOME"

env_dir="$cache/envs/$key"
case "$state" in
ok)
    touch "$env_dir/$marker" 2>/dev/null || true # last used: pruning keeps the recent ones
    say "reusing the cached environment $env_dir"
    echo "$env_dir/bin/toto-actions"
    exit 0
    ;;
damaged)
    warn "the cached environment $env_dir is damaged ($damage): rebuilding it"
    # Out of the way at once (a job still using it fails anyway), then deleted.
    trash="$cache/envs/.trash-$key-$$"
    if mv -- "$env_dir" "$trash" 2>/dev/null; then
        rm -rf -- "$trash"
    fi
    ;;
esac

installing=true
if $in_actions; then
    echo "::group::Installing toto-actions from $checkout" >&2
    group_open=true
fi

[ -f "$lock" ] || fail "no lock file $lock: regenerate it with scripts/lock"
keep="${TOTO_ACTIONS_KEEP:-5}"
[[ "$keep" =~ ^[0-9]+$ ]] || fail "TOTO_ACTIONS_KEEP must be a number of environments, not '$keep'"

# Installs the uv of actions/uv-requirements.txt (its wheel checked against the lock's hashes:
# fetch_uv.py, else pip) into the cache, once per version and machine, and sets `uv` to it;
# returns 1 when that fails.
bootstrap_uv() {
    local version home
    version="$(sed -n 's/^uv==\([^ ;\\]*\).*/\1/p' "$uv_lock" 2>/dev/null)"
    [ -n "$version" ] || return 1
    home="$cache/tools/uv-$version-$(uname -m)"
    if [ ! -x "$home/bin/uv" ]; then
        say "uv is neither on PATH nor a module of $python: installing uv $version (hash-checked) into $home"
        mkdir -p "$cache/tools"
        build="$cache/tools/.build-uv-$version-$$"
        # Straight from PyPI with the standard library (the wheel checked against the lock's
        # hashes), else through pip, which checks the same hashes but starts slower.
        if ! "$python" -I -S "$checkout/actions/fetch_uv.py" "$uv_lock" "$build"; then
            say "uv could not be fetched from PyPI directly (see above): installing it with pip"
            rm -rf -- "$build"
            "$python" -P -m pip install --disable-pip-version-check --no-input --progress-bar off \
                --quiet --cache-dir "$cache/pip" --require-hashes --no-deps --only-binary :all: \
                --target "$build" --requirement "$uv_lock" >&2 || return 1
        fi
        "$build/bin/uv" --version >/dev/null || return 1
        if "$python" -I -S -c "$rename_script" "$build" "$home" 2>/dev/null; then
            build=""
        fi # else another job installed it first: the EXIT trap removes ours
    fi
    uv=("$home/bin/uv")
}

installer="${TOTO_ACTIONS_INSTALLER:-auto}"
uv=()
case "$installer" in
auto | uv)
    if command -v uv >/dev/null 2>&1; then
        uv=(uv)
    elif "$python" -P -m uv --version >/dev/null 2>&1; then
        uv=("$python" -P -m uv)
    elif ! bootstrap_uv; then
        [ -z "$build" ] || rm -rf -- "$build"
        build=""
        [ "$installer" = auto ] ||
            fail "TOTO_ACTIONS_INSTALLER=uv but uv is neither on PATH nor a module of $python, and installing it from $uv_lock failed (see above)"
        say "uv could not be installed (see above): installing with pip, slower"
    fi
    if ((${#uv[@]})); then
        installer=uv
    else
        installer=pip
    fi
    ;;
pip) ;;
*) fail "TOTO_ACTIONS_INSTALLER must be auto, uv or pip, not '$installer'" ;;
esac

mkdir -p "$cache/envs"
build="$cache/envs/.build-$key-$$"
rm -rf -- "$build"
# Installers run from the cache directory: no project configuration of the caller's working
# directory applies, and `python -m` cannot pick up the checkout instead of the install.
cd "$cache/envs"
started=$SECONDS
if [ "$installer" = uv ]; then
    say "installing into $env_dir with $("${uv[@]}" --version) and $python ($("$python" -I -S -c 'import sys; print(sys.version.split()[0])'))"
    export UV_PYTHON_DOWNLOADS=never # only the interpreter found above
    "${uv[@]}" venv --quiet --cache-dir "$cache/uv" --python "$python" "$build" >&2
    # The dependencies' bytecode (900 files, a second and more) is compiled once the path is
    # printed, beside the first command (below); the package's own, here.
    "${uv[@]}" pip install --cache-dir "$cache/uv" --python "$build/bin/python" \
        --require-hashes --requirement "$lock" >&2
    # --reinstall-package: the checkout is always built afresh, never taken from uv's wheel
    # cache; built by the locked backend installed above, and without dependencies.
    "${uv[@]}" pip install --cache-dir "$cache/uv" --python "$build/bin/python" \
        --no-deps --no-build-isolation --reinstall-package toto-actions --compile-bytecode \
        "$checkout" >&2
else
    say "installing into $env_dir with pip and $python"
    "$python" -P -m venv "$build" >&2
    pip_install=("$build/bin/python" -P -m pip install --disable-pip-version-check --no-input
        --progress-bar off --cache-dir "$cache/pip")
    "${pip_install[@]}" --require-hashes --requirement "$lock" >&2
    "${pip_install[@]}" --no-deps --no-build-isolation "$checkout" >&2
fi
"$build/bin/python" -I -m toto_actions --version >&2
"$python" -I -S -c "$finish_script" "$build" "$env_dir" "$marker" "$keep" \
    "$installer"
build=""
installing=false
if [ "$installer" = uv ]; then
    # Detached from the step's output (the caller's $(...) waits for no one), and harmless to
    # race: an import compiles what it needs itself, and both write each file by a rename.
    ("$env_dir/bin/python" -I -m compileall -q -j 0 "$env_dir/lib" </dev/null >/dev/null 2>&1 &)
fi
say "installed in $((SECONDS - started)) s"
if $group_open; then
    echo "::endgroup::" >&2
fi
echo "$env_dir/bin/toto-actions"
