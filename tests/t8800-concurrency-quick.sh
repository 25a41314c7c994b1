#!/bin/bash
# t8800-concurrency-quick: the quick subset of t9800-concurrency-torture.sh
# (3 times each pair) for make check.
QUICK=1
. "$(dirname "$0")/t9800-concurrency-torture.sh"
