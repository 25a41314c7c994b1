#!/bin/bash
# t8700-race-quick: the quick subset of t9700-race-torture.sh (2 rounds of
# 2 s) for make check.
QUICK=1
. "$(dirname "$0")/t9700-race-torture.sh"
