#!/bin/bash
# t8100-kill-quick: the quick subset of t9100-kill-torture.sh for make check:
# 4 kill points of backup and of cleanup, 20 of rollback, 6 of a rollback
# into an empty folder, 4 among the writes of its big files in pieces (each
# then rerun).
QUICK=1
. "$(dirname "$0")/t9100-kill-torture.sh"
