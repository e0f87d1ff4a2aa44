"""Diagnoses of a network while it trains: gradient flow per layer, train vs test curves, curvature over training."""
