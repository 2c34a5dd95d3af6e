import sys

sys.stderr.write('tools/ablate.py moved to '
                 'tools/analysis_tools/ablate.py\n')
sys.exit(2)
