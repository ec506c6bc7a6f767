"""Torch policies (implicit and explicit), the checkpoint folder format and the ONNX exporter."""
