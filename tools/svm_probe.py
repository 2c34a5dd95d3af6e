import sys

sys.stderr.write('tools/svm_probe.py moved to '
                 'tools/analysis_tools/svm_probe.py\n')
sys.exit(2)
