import sys

sys.stderr.write('tools/fewshot.py moved to '
                 'tools/analysis_tools/fewshot.py\n')
sys.exit(2)
