# A TensorFlow whose CUDA libraries are missing: importing it fails.
import sys

print("E external/local_xla/xla/stream_executor/cuda/cuda_dnn.cc:8310] Unable to register cuDNN factory", file=sys.stderr)
raise ImportError("libcudart.so.12: cannot open shared object file: No such file or directory")
