# Starts a kernel in its own session, detached from SSH, and waits for its
# connection file (launcher.py does the work). Set before this text:
#   py          the Python to run (a name on PATH or a path)
#   KT_*        the launcher's orders, exported
#   missing     the @@KTRAY-LAUNCH line to print when there is no such Python
if ! command -v "$py" >/dev/null 2>&1; then
  printf '%s\n' "$missing"
  exit 0
fi
exec "$py" - <<'KTRAY_LAUNCHER_EOF'
@LAUNCHER@
KTRAY_LAUNCHER_EOF
