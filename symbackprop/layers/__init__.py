"""Kinds of layer, one module each, every one stating its local equations
through the protocol in :mod:`symbackprop.layers.protocol`."""
