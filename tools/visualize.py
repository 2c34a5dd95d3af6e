import sys

sys.stderr.write('tools/visualize.py moved to '
                 'tools/analysis_tools/visualize.py\n')
sys.exit(2)
