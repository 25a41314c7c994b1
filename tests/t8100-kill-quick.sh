#!/bin/bash
# t8100-kill-quick: the quick subset of t9100-kill-torture.sh (4 kill points
# of backup, rollback and cleanup each) for make check.
QUICK=1
. "$(dirname "$0")/t9100-kill-torture.sh"
