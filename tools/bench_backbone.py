import sys

sys.stderr.write('tools/bench_backbone.py moved to '
                 'tools/analysis_tools/bench_backbone.py\n')
sys.exit(2)
