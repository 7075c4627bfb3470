#!/usr/bin/env bash
# hypercore(1) is complete: it renders with `man -l` without a groff warning; every command of
# `hypercore --help` has its subsection under COMMANDS, and every option of
# `hypercore COMMAND --help` is documented in that subsection (so a command or option added to
# the CLI without its man page fails here); EXIT STATUS lists the statuses of --help;
# ENVIRONMENT names every variable the sources getenv(); the page's version is the command's.
# usage: test_man.sh PATH/TO/hypercore PATH/TO/hypercore.1 SOURCE_DIR
set -uo pipefail
HC=${1:?hypercore binary} PAGE=${2:?man page} SRC=${3:?source dir}
T=$(mktemp -d "${TMPDIR:-/tmp}/hc-man.XXXXXX")
trap 'rm -rf "$T"' EXIT
FAILS=0 CHECKS=0
check() { # CONDITION-EXIT-STATUS MESSAGE
  CHECKS=$((CHECKS + 1))
  if [ "$1" != 0 ]; then echo "FAIL: $2" >&2; FAILS=$((FAILS + 1)); fi
}

# Render as plain ASCII on one very wide line per paragraph, so options never wrap.
LC_ALL=C MANWIDTH=1000 man --warnings -l "$PAGE" >"$T/raw" 2>"$T/warn"
check $? "man -l failed"
col -bx <"$T/raw" >"$T/page"
[ ! -s "$T/warn" ]; check $? "groff warnings: $(head -c 600 "$T/warn")"
[ "$(wc -l <"$T/page")" -gt 100 ]; check $? "rendered page is too short"

# section TITLE: the lines of a top-level section (column 0 heading) of the rendered page
section() { awk -v h="$1" '/^[A-Z]/ { on = ($0 == h); next } on' "$T/page"; }
# subsection NAME: the lines of "   NAME ..." under COMMANDS up to the next subsection
subsection() {
  section COMMANDS | awk -v n="$1" '
    /^   [^ ]/ { split(substr($0, 4), w, " "); on = (w[1] == n); if (on) print; next }
    on'
}

"$HC" --help >"$T/help"
cmds=$(awk '/^commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 } f && /^$/ { f = 0 }' "$T/help")
[ "$(echo "$cmds" | wc -w)" -ge 10 ]; check $? "could not read the command list from --help"
for cmd in $cmds; do
  subsection "$cmd" >"$T/sub"
  [ -s "$T/sub" ]; check $? "command '$cmd' (in hypercore --help) has no subsection in $PAGE"
  "$HC" "$cmd" --help >"$T/cmdhelp"
  for opt in $(grep -oE -- '--[a-z][a-z0-9-]*' "$T/cmdhelp" | sort -u); do
    grep -qE -- "${opt}([^a-z0-9-]|\$)" "$T/sub"
    check $? "option $opt of '$cmd' is not documented in its subsection of $PAGE"
  done
done
for opt in --help --version; do
  section SYNOPSIS | grep -qF -- "$opt"; check $? "SYNOPSIS lacks $opt"
done

# EXIT STATUS: every status --help names ("Exit status: 0 success, 1 error, 2 bad arguments.")
statuses=$(grep -i '^exit status:' "$T/help" | grep -oE '\b[0-9]+\b')
[ -n "$statuses" ]; check $? "--help names no exit status"
for s in $statuses; do
  section "EXIT STATUS" | grep -qE "^ +$s( |\$)"; check $? "EXIT STATUS lacks status $s"
done

# ENVIRONMENT: every variable the command or the library reads
vars=$(grep -ohE 'getenv\("[A-Za-z_0-9]+"\)' "$SRC"/tools/*.c "$SRC"/src/*.c | sed -E 's/getenv\("(.*)"\)/\1/' | sort -u)
for v in $vars; do
  section ENVIRONMENT | grep -qw "$v"; check $? "ENVIRONMENT lacks $v (read with getenv in the sources)"
done

# the page's version is the command's
ver=$("$HC" --version | awk '{ print $2 }')
grep -q "^\.TH HYPERCORE 1 .*\"libhypercore $ver\"" "$PAGE"; check $? ".TH does not say libhypercore $ver"

echo "man page: $(echo "$cmds" | wc -w) commands, $CHECKS checks"
echo "$((CHECKS - FAILS)) passed, $FAILS failed"
[ "$FAILS" = 0 ]
