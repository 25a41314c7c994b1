#!/bin/bash
# t8500-corruption-quick: the quick subset of t9500-corruption-torture.sh
# (8 flips, 4 truncations) for make check.
QUICK=1
. "$(dirname "$0")/t9500-corruption-torture.sh"
