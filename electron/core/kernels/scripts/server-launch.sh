# Starts a Jupyter server in its own session, detached from SSH, and waits for
# its server file (server-launcher.py, put in place of the marker below, does
# the work). Set before this text:
#   py          the Python to run (a name on PATH or a path)
#   KT_*        the launcher's orders, exported
#   missing     the @@KTRAY-SERVER line to print when there is no such Python
if ! command -v "$py" >/dev/null 2>&1; then
  printf '%s\n' "$missing"
  exit 0
fi
exec "$py" - <<'KTRAY_SERVER_LAUNCHER_EOF'
@LAUNCHER@
KTRAY_SERVER_LAUNCHER_EOF
