"""Resource limits: checked before work is done, so no input can exhaust memory or the stack."""

# Expressions nested deeper than this (open brackets, plus the unary signs in front of
# each) are refused: walkers over the tree (the checker, repr, ==) recurse
# once per level, and Python's stack is not deep enough for arbitrary nesting.
MAX_NESTING = 32
# A run of unary signs (``- - - x``) nests the same way.
MAX_SIGNS_IN_A_ROW = 8
# Elements of one vector (an input, a layer, a constant).
MAX_VECTOR_SIZE = 10_000_000
# Entries of one constant matrix or of one dense weight matrix.
MAX_MATRIX_ENTRIES = 100_000_000
# The total work of constant folding in one program, counted before each step: multiply-adds
# (a matrix product m x k by k x n counts m*k*n, an elementwise operation one per element) and
# bytes of the constants folded and loaded (every intermediate result counts, as it is
# allocated). Each object is within MAX_MATRIX_ENTRIES; these bound the sum, so that twelve
# 10,000 x 10,000 outer products (9.6 GB) or a 10,000 x 10,000 matrix squared (10^12
# multiply-adds, 20 s) are refused. 10^10 multiply-adds take about 0.3 s in a product and
# some 15 s elementwise on a 2-core machine; 2 GiB keeps memory near 2 GB.
MAX_FOLDING_MULTIPLY_ADDS = 10_000_000_000
MAX_FOLDED_BYTES = 2 * 1024 * 1024 * 1024
# Signals (input elements plus neurons) in one network.
MAX_SIGNALS = 10_000_000
# Size of a .net file. The syntax tree takes about 50 bytes of memory per byte of source and
# `netlang check` about 80, and every step is linear; what bounds the size is time: on the
# development machine (2 shared cores) an 8 MiB netlist of 107 000 nodes took 62 s and 0.6 GB
# to check, an 8 MiB one-line sum of 528 000 terms 111 s and 0.7 GB (both while other work ran
# beside them), and `parse --json` writes some 70 bytes of JSON per byte of source. 32 MiB,
# the limit before, took 106-127 s and 3-7 GB to check (docs/limits.md).
MAX_SOURCE_BYTES = 8 * 1024 * 1024
# Size of a weight file.
MAX_WEIGHT_FILE_BYTES = 2 * 1024 * 1024 * 1024
# Arrays listed in one .npz file: zipfile builds an object per member as it opens an archive,
# so a small file declaring a million would cost about a gigabyte before one is read.
MAX_NPZ_MEMBERS = 10_000
# Bytes of a .npy header (numpy's own default bound): its length field is checked first.
MAX_NPY_HEADER_BYTES = 10_000
# Weights in one exported ONNX file: a model is one protobuf message, which cannot pass
# 2 GiB; 16 MiB less leaves room for the graph itself.
MAX_ONNX_BYTES = 2**31 - 2**24
# Errors reported from one file before the rest are left out.
MAX_ERRORS = 50
# Warnings reported from one file (`netlang check`), the first in file order; the rest are left out.
MAX_WARNINGS = 100
# Digits of a whole number such as a vector size.
MAX_INT_DIGITS = 12
# Input values of a network that `netlang table` lists every 0/1 combination of (2**16 rows).
MAX_TABLE_INPUTS = 16
# Values (rows x columns, inputs and outputs) of one table from `netlang table`: a small file
# with 16 inputs and a layer of 10,000 outputs would otherwise ask for 655 million cells
# (gigabytes of text). 2,000,000 values take about 0.5 s and 200 MB to format.
MAX_TABLE_VALUES = 2_000_000
# Weight terms computed in exact arithmetic (`--exact`) by one command, counted over every
# sample it evaluates (a table's rows, a file's expectations): each term is a Fraction
# operation, 7 to 20 microseconds and more as denominators grow (2 layers of 250 x 250
# random weights: 2.7 s; of 1000 x 1000: 14 s and up), so 100,000 terms stay near 2 s.
MAX_EXACT_TERMS = 100_000
