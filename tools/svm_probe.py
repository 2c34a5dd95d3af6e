"""Old path of a moved tool: says where it is now and exits 2."""
import sys

sys.stderr.write('tools/svm_probe.py moved to '
                 'tools/analysis_tools/svm_probe.py\n')
sys.exit(2)
