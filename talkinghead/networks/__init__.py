"""Neural networks as plain ``nn.Module``s: tensors in, tensors out, no file I/O, no devices chosen."""
