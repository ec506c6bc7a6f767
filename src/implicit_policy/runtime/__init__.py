"""What acting needs without torch: the control-loop base (history per batch row, noise, warm start, checks,
clip) and ``OnnxPolicy``. Imports numpy, onnx and onnxruntime only (a test enforces it)."""
