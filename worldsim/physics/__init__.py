"""The physics world: a pymunk simulator with scene families, a renderer and impact sound.

This package imports no JAX: it is the ground truth the model is trained on and judged
against, and must stay independent of the model.
"""
