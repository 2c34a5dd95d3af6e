"""Old path of a moved tool: says where it is now and exits 2."""
import sys

sys.stderr.write('tools/bench_pretrain.py moved to '
                 'tools/analysis_tools/bench_pretrain.py\n')
sys.exit(2)
