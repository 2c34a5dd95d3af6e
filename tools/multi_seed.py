"""Old path of a moved tool: says where it is now and exits 2."""
import sys

sys.stderr.write('tools/multi_seed.py moved to '
                 'tools/analysis_tools/multi_seed.py\n')
sys.exit(2)
