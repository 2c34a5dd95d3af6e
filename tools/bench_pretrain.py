import sys

sys.stderr.write('tools/bench_pretrain.py moved to '
                 'tools/analysis_tools/bench_pretrain.py\n')
sys.exit(2)
