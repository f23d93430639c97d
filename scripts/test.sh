#!/usr/bin/env bash
# The README's test command: sets up everything the tests need on a fresh machine, then runs them.
#   - via apt-get when missing: tmux (the end-to-end tests drive the real dashboard in it),
#     script (the terminal benchmark), openssh (a private loopback sshd for the SSH-drop test)
#   - a virtualenv in .venv with the project and its `test` extra (pytest, the BigQuery emulator,
#     ray[default] whose head the engine tests start, the Cloud Run and Cloud Logging clients)
# Extra arguments go to pytest, e.g. `scripts/test.sh tests/unit -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
command -v script >/dev/null 2>&1 || need_apt+=(bsdutils)
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need_apt+=(openssh-client)
if ((${#need_apt[@]})); then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    sudo apt-get update -qq >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -e '.[test]' 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c 'import nba_tui, textual, google.cloud.bigquery, bqemulator, ray, google.cloud.run_v2, google.cloud.logging' # fail loudly if install broke
[ -x .venv/bin/ray ] || { echo 'no .venv/bin/ray: the Ray engine tests need ray[default]' >&2; exit 1; }

.venv/bin/ruff check nba_tui tests bench
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
