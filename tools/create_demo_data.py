import sys

sys.stderr.write('tools/create_demo_data.py moved to '
                 'tools/dataset_converters/create_demo_data.py\n')
sys.exit(2)
