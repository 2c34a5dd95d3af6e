import sys

sys.stderr.write('tools/benchmark.py moved to '
                 'tools/analysis_tools/benchmark.py\n')
sys.exit(2)
