#!/bin/sh
# mmcv 2.1.0's setup.py forces -std=c++17, but torch 2.14 headers need C++20.
# The last -std flag wins, so append ours.
exec "${ACT_REAL_CXX:-g++}" "$@" -std=c++20
