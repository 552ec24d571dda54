# Waits for a process to go after a clean shutdown request, then TERM, then
# KILL; prints `gone` or `alive` (after `sent TERM`/`sent KILL` for each signal). Set before this text (and same.sh):
#   p           the pid
#   start       its start time, for same()
#   grace       tenths of a second to wait before TERM
#   remove      a file to remove once it is gone, or empty
#   "$@"        more files to remove with it (a server's -open.html, its socket)
#   termwait    tenths of a second to wait after TERM before KILL (default 30)
# A zombie is gone for our purposes, whenever its parent gets round to reaping
# it; a pid that is now another process's is gone too, and never signalled.
# state: the process's one-letter state (R S D T Z ...), from /proc where the
# host has one, else from ps; empty when neither can tell.
state() {
  if read -r s 2>/dev/null < "/proc/$p/stat"; then
    s=${s##*) }; echo "${s%% *}"
  else
    { ps -o stat= -p "$p" | cut -c1; } 2>/dev/null
  fi
}
alive() { same && [ "$(state)" != Z ]; }
# t counts every tenth waited, and nf the naps that failed (sleep could not run,
# or was killed: status $fs), for the verdict of a process that will not go.
t=0 nf=0 fs=
nap() { sleep 0.1 2>/dev/null || { fs=$?; sleep 1 2>/dev/null; } || { fs="$fs/$?"; nf=$((nf+1)); }; }
waitgone() { i=0; while alive && [ "$i" -lt "$1" ]; do nap; i=$((i+1)); t=$((t+1)); done; }
waitgone "$grace"
if alive; then echo sent TERM; kill -TERM "$p" 2>/dev/null; waitgone "${termwait:-30}"; fi
# A killed process can take seconds to be torn down on a loaded host (its
# threads, its memory): it is not "alive" until that time is up.
if alive; then echo sent KILL; kill -KILL "$p" 2>/dev/null; waitgone 100; fi
if alive; then echo "alive $(state) $(cat "/proc/$p/wchan" 2>/dev/null)"; echo "waited $t tenths ($nf naps failed${fs:+, sleep status $fs}), start ${start:-unknown}"; exit 0; fi
[ -z "$remove" ] || rm -f -- "$remove"
for f in "$@"; do rm -f -- "$f"; done
echo gone
