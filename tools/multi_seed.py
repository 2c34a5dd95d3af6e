import sys

sys.stderr.write('tools/multi_seed.py moved to '
                 'tools/analysis_tools/multi_seed.py\n')
sys.exit(2)
