#!/usr/bin/env bash
# Stops the test mail server started by start.sh, by its pid files only.
set -u
MTA_DIR=${MTA_DIR:-/tmp/scanmail-mta}
for pidfile in "$MTA_DIR/spool/pid/master.pid" "$MTA_DIR/dovecot-run/master.pid"; do
  [ -f "$pidfile" ] || continue
  pid=$(tr -d ' \n' < "$pidfile")
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && echo "stopped $pid ($pidfile)"
done
exit 0
