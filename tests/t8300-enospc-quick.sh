#!/bin/bash
# t8300-enospc-quick: the quick subset of t9300-enospc-torture.sh (3 fault
# points of backup and rollback, the tmpfs cases) for make check.
QUICK=1
. "$(dirname "$0")/t9300-enospc-torture.sh"
