"""The bundled demo: a synthetic credit-scoring model checked under two team overlays."""
