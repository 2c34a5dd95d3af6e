"""Old path of a moved tool: says where it is now and exits 2."""
import sys

sys.stderr.write('tools/bench_backbone.py moved to '
                 'tools/analysis_tools/bench_backbone.py\n')
sys.exit(2)
