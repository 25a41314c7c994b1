#!/bin/bash
# t8600-hostile-quick: the quick subset of t9600-hostile-torture.sh (10 cases)
# for make check.
QUICK=1
. "$(dirname "$0")/t9600-hostile-torture.sh"
