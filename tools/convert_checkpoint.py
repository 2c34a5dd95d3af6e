import sys

sys.stderr.write('tools/convert_checkpoint.py moved to '
                 'tools/model_converters/convert_checkpoint.py\n')
sys.exit(2)
