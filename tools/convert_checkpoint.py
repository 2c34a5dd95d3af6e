import sys
print('tools/convert_checkpoint.py moved to tools/model_converters/convert_checkpoint.py', file=sys.stderr)  # noqa: E501
sys.exit(2)
